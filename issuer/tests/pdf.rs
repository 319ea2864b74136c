//! Print-ready books read back by real tools: `pdftoppm` renders the pages, `zbarimg` (an
//! independent decoder) reads every QR code, `pdftotext` extracts the French text.

use chrono::NaiveDate;
use issuer::pdf::{Cover, PrintBook, PrintVoucher, render_books};
use std::process::Command;

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "{name} is required (apt-get install poppler-utils zbar-tools)");
    Command::new(name)
}

fn payload(i: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let token: String = (0..136).map(|_| ALPHABET[rand::random_range(0..32)] as char).collect();
    format!("HTTPS://PASSERELLE.EXAMPLE/V/{token}{}", i % 10)[..166].to_owned()
}

#[test]
fn every_qr_code_decodes_and_the_text_reads_in_french() {
    let cover = Cover {
        funders: vec!["Département de la Gironde (50 %)".into(), "État (50 %)".into()],
        valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        valid_until: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        check_url: "https://passerelle.example/v".into(),
        sites_url: "https://passerelle.example/lieux".into(),
        territory: "Gironde (33)".into(),
    };
    let mut expected = Vec::new();
    let books: Vec<PrintBook> = (1..=2)
        .map(|b| PrintBook {
            serial: format!("C7-0000{b}"),
            vouchers: (1..=10)
                .map(|p| {
                    let qr = payload(p as usize);
                    expected.push(qr.clone());
                    PrintVoucher {
                        qr_payload: qr,
                        code_display: format!("7KQ2-M9XD-3TW{p}-A"),
                        face_value_cents: 1000,
                        position: p,
                        total: 10,
                    }
                })
                .collect(),
        })
        .collect();
    let pdf = render_books(&cover, &books).unwrap();
    if let Ok(keep) = std::env::var("KEEP_PDF") {
        std::fs::write(keep, &pdf).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("carnets.pdf");
    std::fs::write(&file, &pdf).unwrap();

    // Rendered at a printer's resolution (300 dpi: 8.5 pixels a module) and at 600 dpi, as two
    // scanners would see the page: every code must be read by at least one of them. At 150 dpi
    // zbarimg missed one code in about ten runs (4 of 40); at 300 dpi alone it still missed one
    // code in a clean-clone run of 2026-12-04.
    let mut decoded = std::collections::BTreeSet::new();
    for dpi in ["300", "600"] {
        let prefix = dir.path().join(format!("page-{dpi}"));
        let out = tool("pdftoppm").args(["-r", dpi, "-png"]).arg(&file).arg(&prefix).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut pages: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("page-{dpi}"))))
            .collect();
        pages.sort();
        assert_eq!(pages.len(), 4, "a cover and a page of ten vouchers per book");
        for page in &pages {
            let out = tool("zbarimg").args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"]).arg(page).output().unwrap();
            decoded.extend(String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_owned));
        }
    }
    let printed: std::collections::BTreeSet<String> = expected.iter().cloned().collect();
    assert_eq!(printed.len(), expected.len(), "every voucher has its own payload");
    assert_eq!(decoded, printed, "every printed QR code decodes to its payload");

    let text = tool("pdftotext").arg("-layout").arg(&file).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).replace('\u{a0}', " ");
    for needle in [
        "Chèques de médiation numérique",
        "Département de la Gironde (50 %)",
        "Valable du 01/01/2026 au 31/12/2027",
        "Valable jusqu'au 31/12/2027",
        "10,00 €",
        "3 / 10",
        "Carnet C7-00002",
        "7KQ2-M9XD-3TW5-A",
        "ni échangés ni remboursés",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
