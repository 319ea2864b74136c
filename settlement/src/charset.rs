//! The SEPA character set (EPC guidelines): Latin letters without accents, digits, space and
//! `/ - ? : ( ) . , ' +`. Names and texts are transliterated (é → e, œ → oe, ’ → ') and cut to
//! the field's length; identifiers must already be in the set.

use deunicode::deunicode_char;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// Transliterates `text` into the SEPA character set, collapses runs of spaces and keeps at
/// most `max` characters. Characters with no Latin equivalent become a space; an empty result
/// becomes `-` (fields may not be empty).
pub fn sepa_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let push = |c: char, out: &mut String| {
        let c = if allowed(c) { c } else { ' ' };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            return;
        }
        out.push(c);
    };
    for c in text.chars() {
        if allowed(c) {
            push(c, &mut out);
        } else if matches!(c, '\u{2018}' | '\u{2019}' | '`' | '\u{b4}') {
            push('\'', &mut out);
        } else if matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}') {
            push('-', &mut out);
        } else {
            for t in deunicode_char(c).unwrap_or(" ").chars() {
                push(t, &mut out);
            }
        }
    }
    let mut cut: String = out.trim_end().chars().take(max).collect();
    cut.truncate(cut.trim_end().len());
    if cut.is_empty() { "-".to_owned() } else { cut }
}

/// Whether `id` can be used as a SEPA identifier (message, payment or end-to-end id): 1 to 35
/// characters of the set, without spaces, not starting with `/` and without `//`.
pub fn is_sepa_id(id: &str) -> bool {
    (1..=35).contains(&id.chars().count())
        && id.chars().all(|c| allowed(c) && c != ' ')
        && !id.starts_with('/')
        && !id.contains("//")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_apostrophes_and_length() {
        assert_eq!(sepa_text("Maison France services d’Écueillé", 70), "Maison France services d'Ecueille");
        assert_eq!(sepa_text("Cœur de Bœuf & Fils — Saint-Étienne", 70), "Coeur de Boeuf Fils - Saint-Etienne");
        assert_eq!(sepa_text("Straße 12 «Zürich»", 70), "Strasse 12 Zurich");
        assert_eq!(sepa_text("   ", 70), "-");
        assert_eq!(sepa_text("中文", 70), "Zhong Wen");
        let long = "Association intercommunale pour l'inclusion numérique des habitants du Pays de l'Entre-Deux-Mers";
        let cut = sepa_text(long, 70);
        assert_eq!(cut.chars().count(), 70);
        assert!(cut.starts_with("Association intercommunale pour l'inclusion numerique"));
    }

    #[test]
    fn identifiers() {
        assert!(is_sepa_id("PSL-2026-11-R3-P17"));
        assert!(!is_sepa_id(""));
        assert!(!is_sepa_id("/abc"));
        assert!(!is_sepa_id("a//b"));
        assert!(!is_sepa_id("a b"));
        assert!(!is_sepa_id(&"x".repeat(36)));
        assert!(!is_sepa_id("é"));
    }

    proptest! {
        #[test]
        fn any_text_becomes_valid(text in any::<String>(), max in 1usize..200) {
            let out = sepa_text(&text, max);
            prop_assert!(!out.is_empty());
            prop_assert!(out.chars().count() <= max);
            prop_assert!(out.chars().all(allowed));
            prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
        }
    }
}
