//! HTML to plain text, for Mastodon statuses and feed summaries: tags dropped, block ends
//! turned into line breaks, the common entities decoded. Not a full HTML parser: enough
//! for the escaped, sanitised HTML those sources send.

/// Plain text of an HTML fragment.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                rest = "";
                break;
            };
            let tag = rest[1..end].trim_start_matches('/').to_ascii_lowercase();
            let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
            if matches!(name, "br" | "p" | "div" | "li" | "h1" | "h2" | "h3" | "h4" | "blockquote") {
                out.push('\n');
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
            match end.and_then(|e| entity(&rest[1..e]).map(|c| (e, c))) {
                Some((e, c)) => {
                    out.push(c);
                    rest = &rest[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "rsquo" => '’',
        "hellip" => '…',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn strips_tags_and_decodes_entities() {
        let html = r#"<p>Fum&eacute;e &amp; flammes <a href="https://x/@a" class="mention">@<span>alice</span></a></p><p>l&#39;arr&#x EA;t</p>"#;
        let t = to_text(html);
        assert!(t.contains("Fumée & flammes @alice"), "{t}");
        assert_eq!(to_text("a<br/>b &unknown; c &#39;"), "a\nb &unknown; c '");
        assert_eq!(to_text("<p>unterminated <a"), "\nunterminated ");
        assert_eq!(to_text("x &#99999999; y"), "x &#99999999; y");
    }
}
