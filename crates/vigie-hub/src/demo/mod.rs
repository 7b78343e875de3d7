//! The bundled demo city.
