//! The demo's people and its device token: one account per role with a password printed
//! in the banner, and one well-known token that the replay (and the README's examples)
//! publish with. Demo only: nothing here is created outside `vigie up --demo`.

use crate::auth::{Auth, AuthError, Role};
use crate::store::SensorScope;

/// The token the demo replay publishes with, for every demo sensor. Public on purpose:
/// the README's `curl` and `mosquitto_pub` examples use it.
pub const DEMO_TOKEN: &str = "vgt_demo-nantes-every-sensor";

/// A demo account, as the banner shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: &'static str,
    pub password: &'static str,
    pub role: Role,
}

const ACCOUNTS: &[(&str, &str, &str, Role)] = &[
    ("operateur", "demo-operateur-nantes", "Opératrice de démonstration", Role::Operator),
    ("superviseur", "demo-superviseur-nantes", "Superviseur de démonstration", Role::Supervisor),
    ("dpd", "demo-dpd-nantes", "Déléguée à la protection des données (démo)", Role::Dpo),
    ("administrateur", "demo-administrateur-nantes", "Administrateur de démonstration", Role::Admin),
];

/// Creates the demo accounts and the demo token where missing (a restarted demo keeps
/// them). Blocking.
pub fn install_accounts(auth: &Auth) -> Result<Vec<DemoAccount>, AuthError> {
    let mut out = Vec::new();
    for (username, password, display, role) in ACCOUNTS {
        auth.create_user_with_password(username, *role, display, password, false)?;
        out.push(DemoAccount { username, password, role: *role });
    }
    if auth.token_principal(DEMO_TOKEN).is_none() {
        auth.create_token_with_secret(
            "démo : toutes les caméras et capteurs",
            None,
            SensorScope::All,
            "demo",
            DEMO_TOKEN,
        )?;
    }
    Ok(out)
}
