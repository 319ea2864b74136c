//! The real `passerelle` binary: init, configuration errors, ledger verify on a tampered
//! database, token creation, the demo, and a graceful stop on SIGTERM.

mod common;

use ledger::testing::TestDb;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn passerelle(tdb: &TestDb, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_passerelle"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &tdb.url)
        .env("PASSERELLE_KEY_DIR", dir.join("keys"))
        .env("RUST_LOG", "warn");
    c
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn init_verify_and_tamper(tdb: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let out = passerelle(&tdb, dir.path()).args(["init", "--admin-email", "chef@operateur.example"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  Mot de passe à usage unique : "))
        .expect("password printed")
        .to_owned();
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'chef@operateur.example'")
        .fetch_one(tdb.db.pool())
        .await
        .unwrap();
    assert!(passerelle::identity::password::verify(&password, &hash));
    assert_eq!(std::fs::read_dir(dir.path().join("keys")).unwrap().count(), 1, "one signing key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let again = passerelle(&tdb, dir.path()).arg("init").output().unwrap();
    assert!(!again.status.success());
    assert!(text(&again).contains("déjà initialisé"), "{}", text(&again));

    let rotated = passerelle(&tdb, dir.path()).args(["key", "rotate"]).output().unwrap();
    assert!(rotated.status.success(), "{}", text(&rotated));
    let listed = text(&rotated);
    assert!(listed.contains("Nouvelle clé de signature : k2") && listed.contains("k1  Ed25519"), "{listed}");

    let token = passerelle(&tdb, dir.path())
        .args(["token", "create", "--email", "chef@operateur.example", "--name", "script"])
        .output()
        .unwrap();
    assert!(token.status.success(), "{}", text(&token));
    assert!(String::from_utf8_lossy(&token.stdout).trim().starts_with("psl_"));
    let nobody =
        passerelle(&tdb, dir.path()).args(["token", "create", "--email", "personne@nulle.part"]).output().unwrap();
    assert!(!nobody.status.success());
    assert!(text(&nobody).contains("aucun compte"));

    for i in 0..4 {
        let t =
            ledger::NewTransaction::new(format!("p{i}"), "funder_payment", "Virement", ledger::testing::fixed_time())
                .debit(ledger::AccountCode::bank(), ledger::Cents(1000 + i))
                .credit(ledger::AccountCode::funder(7), ledger::Cents(1000 + i));
        ledger::post(&tdb.db, &t).await.unwrap();
    }
    let seal = passerelle(&tdb, dir.path()).args(["ledger", "seal"]).output().unwrap();
    assert!(text(&seal).contains("4 transaction(s) scellée(s)"), "{}", text(&seal));
    let ok = passerelle(&tdb, dir.path()).args(["ledger", "verify"]).output().unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("tout concorde"));
    let tb = passerelle(&tdb, dir.path()).args(["ledger", "trial-balance"]).output().unwrap();
    assert!(text(&tb).contains("40,06\u{a0}€"), "{}", text(&tb));
    let st = passerelle(&tdb, dir.path()).args(["ledger", "statement", "funder:7"]).output().unwrap();
    assert!(text(&st).contains("Solde de clôture : -40,06\u{a0}€"), "{}", text(&st));
    let bad = passerelle(&tdb, dir.path()).args(["ledger", "statement", "funder:abc"]).output().unwrap();
    assert!(!bad.status.success());

    // Rewrite the memo of the third transaction behind the ledger's back.
    let target: i64 = sqlx::query_scalar("SELECT id FROM ledger_transactions WHERE idempotency_key = 'p2'")
        .fetch_one(tdb.db.pool())
        .await
        .unwrap();
    let disable = match tdb.db.engine() {
        ledger::Engine::Sqlite => "DROP TRIGGER ledger_transactions_no_update",
        ledger::Engine::Postgres => "ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only",
    };
    sqlx::query(disable).execute(tdb.db.pool()).await.unwrap();
    sqlx::query("UPDATE ledger_transactions SET memo = 'Virement modifié' WHERE id = $1")
        .bind(target)
        .execute(tdb.db.pool())
        .await
        .unwrap();
    let tampered = passerelle(&tdb, dir.path()).args(["ledger", "verify"]).output().unwrap();
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    assert!(
        text(&tampered).contains(&format!("Première transaction qui ne concorde plus : {target}")),
        "{}",
        text(&tampered)
    );
}

/// Runs a command that must succeed and returns its standard output.
fn ok(tdb: &TestDb, dir: &std::path::Path, args: &[&str]) -> String {
    let out = passerelle(tdb, dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn the_issuing_side_from_the_terminal(tdb: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&tdb, d, &["init"]);
    let siret = |p: &str| common_siret(p);
    let f = ok(
        &tdb,
        d,
        &[
            "funder",
            "create",
            "--name",
            "Département de la Gironde",
            "--siret",
            &siret("2233000190001"),
            "--category",
            "departement",
            "--territory",
            "33",
        ],
    );
    let funder: i64 = f.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().parse().unwrap();
    let p = ok(
        &tdb,
        d,
        &[
            "prescriber",
            "create",
            "--name",
            "CCAS de Talence",
            "--siret",
            &siret("2633000150004"),
            "--category",
            "ccas",
            "--territory",
            "33",
        ],
    );
    let prescriber: i64 = p.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().parse().unwrap();
    let bad = passerelle(&tdb, d)
        .args(["funder", "create", "--name", "X", "--siret", "123", "--category", "etat", "--territory", "33"])
        .output()
        .unwrap();
    assert!(!bad.status.success() && text(&bad).contains("SIRET"), "{}", text(&bad));

    let order = serde_json::json!({
        "label": "Pass numérique Talence", "funders": [{"funder_id": funder, "share_bps": 10000}],
        "books": 12, "vouchers_per_book": 10, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33", "51"],
    });
    std::fs::write(d.join("order.json"), order.to_string()).unwrap();
    let created = ok(&tdb, d, &["order", "create", "--file", "order.json"]);
    assert!(created.contains("1\u{202f}200,00\u{a0}€"), "{created}");
    let id: String = created.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_owned();
    ok(&tdb, d, &["order", "confirm", &id]);
    let issued = ok(&tdb, d, &["order", "issue", &id]);
    assert!(issued.contains("12 carnets, 120 chèques signés"), "{issued}");
    let printed = ok(&tdb, d, &["order", "print", &id, "--out", "pdf", "--from", "1", "--to", "12"]);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(std::fs::metadata(d.join(format!("pdf/commande-{id}-carnets-00001-00012.pdf"))).unwrap().len() > 10_000);
    let assigned = ok(
        &tdb,
        d,
        &["book", "assign", "--order", &id, "--from", "1", "--to", "6", "--prescriber", &prescriber.to_string()],
    );
    assert!(assigned.contains("6 carnet(s)"), "{assigned}");
    let cancelled = ok(&tdb, d, &["book", "cancel", &format!("C{id}-00003"), "--reason", "Carnet volé"]);
    assert!(cancelled.contains("10 chèque(s), 100,00\u{a0}€"), "{cancelled}");
    ok(
        &tdb,
        d,
        &[
            "funder",
            "pay",
            &funder.to_string(),
            "--amount",
            "1 200,00",
            "--reference",
            "VIR-77",
            "--date",
            "2026-02-01",
        ],
    );
    let funders = ok(&tdb, d, &["funder", "list"]);
    // Owed 1 200 € at issuance, refunded 100 € for the cancelled book, paid 1 200 €: we hold 100 €.
    assert!(funders.contains("-100,00\u{a0}€"), "{funders}");
    let verify = ok(&tdb, d, &["ledger", "verify"]);
    assert!(verify.contains("tout concorde"), "{verify}");

    // Sites from the national open data, then accredited.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/redeemer/tests/data/exemple-valide.csv");
    let imported = ok(&tdb, d, &["site", "import", example]);
    assert!(imported.contains("1 lieu(x) importé(s), 0 déjà connu(s), 0 erreur(s)"), "{imported}");
    let again = ok(&tdb, d, &["site", "import", example]);
    assert!(again.contains("0 lieu(x) importé(s), 1 déjà connu(s)"), "{again}");
    let site: i64 = sqlx::query_scalar("SELECT id FROM organisations WHERE siret = '43493312300029'")
        .fetch_one(tdb.db.pool())
        .await
        .unwrap();
    let accredited = ok(&tdb, d, &["site", "accredit", &site.to_string(), "--until", "2027-12-31"]);
    assert!(accredited.contains("agréé jusqu'au 31/12/2027"), "{accredited}");

    // Scanning at that site (Reims, open Mo-Fr 09:00-12:00,14:00-18:30) from the terminal.
    let place: i64 = sqlx::query_scalar("SELECT id FROM site_places WHERE site_id = $1")
        .bind(site)
        .fetch_one(tdb.db.pool())
        .await
        .unwrap();
    let mut conn = tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &format!("C{id}-00001")).await.unwrap().unwrap();
    let codes: Vec<String> =
        issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code).collect();
    drop(conn);
    let (site, place) = (site.to_string(), place.to_string());
    let monday = "2026-03-02T09:00:00Z";
    let scan = |extra: &[&str]| {
        let mut args = vec!["site", "verify", &site, "--place", &place, "--service", "OUT-SMARTPHONE", "--at", monday];
        args.extend_from_slice(extra);
        passerelle(&tdb, d).args(args).output().unwrap()
    };
    let good = scan(&[&codes[0]]);
    assert!(good.status.success() && text(&good).contains(&format!("OK      {}", codes[0])), "{}", text(&good));
    let mixed = scan(&[&codes[0], "ABCD-EFGH-JKMN-P"]);
    assert_eq!(mixed.status.code(), Some(1), "{}", text(&mixed));
    assert!(text(&mixed).contains("REFUSÉ  ABCD-EFGH-JKMN-P"), "{}", text(&mixed));
    let redeem = [
        "site",
        "redeem",
        &site,
        "--place",
        &place,
        "--service",
        "OUT-SMARTPHONE",
        "--key",
        "cli-1",
        "--at",
        monday,
        "--outcome",
        "skill-acquired",
        "--autonomy-before",
        "1",
        "--autonomy-after",
        "3",
        &codes[0],
    ];
    let done = ok(&tdb, d, &redeem);
    assert!(done.contains("Passage enregistré") && done.contains("Solde dû au lieu : 10,00\u{a0}€"), "{done}");
    let again = ok(&tdb, d, &redeem);
    assert!(again.contains("Passage déjà enregistré"), "{again}");
    let used = passerelle(&tdb, d)
        .args(["site", "redeem", &site, "--place", &place, "--service", "OUT-SMARTPHONE", "--key", "cli-2", &codes[0]])
        .output()
        .unwrap();
    assert!(!used.status.success() && text(&used).contains("déjà été utilisé"), "{}", text(&used));
    let bad_autonomy = passerelle(&tdb, d)
        .args(["site", "redeem", &site, "--place", &place, "--service", "OUT-SMARTPHONE", "--key", "cli-3"])
        .args(["--outcome", "referred", "--autonomy-after", "7", &codes[1]])
        .output()
        .unwrap();
    assert!(!bad_autonomy.status.success() && text(&bad_autonomy).contains("de 1 à 4"), "{}", text(&bad_autonomy));

    // A service recorded on a Sunday raises a flag, which the operator dismisses.
    ok(
        &tdb,
        d,
        &[
            "site",
            "redeem",
            &site,
            "--place",
            &place,
            "--service",
            "OUT-SMARTPHONE",
            "--key",
            "cli-4",
            "--at",
            "2026-03-08T10:00:00Z",
            &codes[2],
        ],
    );
    let flags = ok(&tdb, d, &["anomaly", "list"]);
    assert!(flags.contains("Passage en dehors des horaires d'ouverture"), "{flags}");
    let flag: String = flags.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_owned();
    let refused = passerelle(&tdb, d).args(["anomaly", "dismiss", &flag, "--comment", " "]).output().unwrap();
    assert!(!refused.status.success() && text(&refused).contains("commentaire est obligatoire"), "{}", text(&refused));
    ok(&tdb, d, &["anomaly", "dismiss", &flag, "--comment", "Permanence exceptionnelle du dimanche"]);
    assert!(ok(&tdb, d, &["anomaly", "list"]).contains("Aucune anomalie ouverte"));
    assert!(ok(&tdb, d, &["anomaly", "list", "--all"]).contains("commentaire : Permanence exceptionnelle du dimanche"));

    // March settled: the Reims site is owed 2 × 10,00 € (imported sites give their account first).
    let unpaid = ok(&tdb, d, &["settle", "--period-end", "2026-02-28", "--minimum", "5,00"]);
    assert!(unpaid.contains("0 versement(s)"), "{unpaid}");
    let unpaid_run: String = unpaid.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_owned();
    ok(&tdb, d, &["settlement", "release", &unpaid_run]);
    let bank = ok(
        &tdb,
        d,
        &["site", "bank-account", &site, "--iban", "FR76 3000 6000 0112 3456 7890 189", "--holder", "Anonymal"],
    );
    assert!(bank.contains("FR76"), "{bank}");
    let early = passerelle(&tdb, d).args(["settle", "--period-end", "2099-12-31"]).output().unwrap();
    assert!(!early.status.success() && text(&early).contains("la période n'est pas terminée"), "{}", text(&early));
    let prepared = ok(&tdb, d, &["settle", "--period-end", "2026-03-31", "--minimum", "5,00"]);
    assert!(prepared.contains("en préparation — 1 versement(s), 20,00\u{a0}€"), "{prepared}");
    let run: String = prepared.split("n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_owned();
    let no_sepa = passerelle(&tdb, d).args(["settlement", "sepa", &run, "--out", "v.xml"]).output().unwrap();
    assert!(!no_sepa.status.success(), "{}", text(&no_sepa));
    let released = ok(&tdb, d, &["settlement", "release", &run]);
    assert!(released.contains("validé") && released.contains("[sent]"), "{released}");
    let payout: String =
        released.split("versement n°").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_owned();
    let unconfigured = passerelle(&tdb, d).args(["settlement", "sepa", &run, "--out", "v.xml"]).output().unwrap();
    assert!(text(&unconfigured).contains("PASSERELLE_OPERATOR_IBAN"), "{}", text(&unconfigured));
    let written = passerelle(&tdb, d)
        .args(["settlement", "sepa", &run, "--out", "virements.xml"])
        .env("PASSERELLE_OPERATOR_IBAN", "FR7630006000011234567890189")
        .env("PASSERELLE_OPERATOR_BIC", "CEPAFRPP333")
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", text(&written));
    common::assert_valid_sepa(&std::fs::read_to_string(d.join("virements.xml")).unwrap());
    assert!(ok(&tdb, d, &["settlement", "confirm", &payout]).contains("confirmé"));
    ok(&tdb, d, &["settlement", "statement", &run, "--site", &site, "--out", "releve.pdf"]);
    let statement = common::pdf_text(&std::fs::read(d.join("releve.pdf")).unwrap());
    assert!(statement.contains("Relevé de passages — Anonymal") && statement.contains("2 passage(s)"), "{statement}");
    ok(&tdb, d, &["settlement", "report", &run, "--out", "rapport.pdf"]);
    assert!(common::pdf_text(&std::fs::read(d.join("rapport.pdf")).unwrap()).contains("20,00 €"));
    assert!(ok(&tdb, d, &["settlement", "list"]).contains("[confirmed]"));
    // After the validity (31/12/2027) and the grace period, what is left goes back to the funder.
    assert!(ok(&tdb, d, &["expire", "--as-of", "2028-01-31"]).contains("Aucun chèque à faire expirer"));
    let expired = ok(&tdb, d, &["expire", "--as-of", "2028-02-01"]);
    assert!(expired.contains("chèque(s) expiré(s)") && expired.contains("remboursés aux financeurs"), "{expired}");

    // The invoice of the issuance, the credit notes of the cancelled book and of the expiry.
    let documents = ok(&tdb, d, &["invoice", "list"]);
    assert!(documents.contains("3 document(s) écrit(s)"), "{documents}");
    assert!(documents.contains("F2026-00001  facture") && documents.contains("1\u{202f}200,00"), "{documents}");
    assert!(documents.contains("AV2026-00001  avoir") && documents.contains("AV2028-00001  avoir"), "{documents}");
    let first: String =
        documents.lines().last().unwrap().split_whitespace().next().unwrap().trim_start_matches("n°").to_owned();
    ok(&tdb, d, &["invoice", "pdf", &first, "--out", "facture.pdf"]);
    let text = common::pdf_text(&std::fs::read(d.join("facture.pdf")).unwrap());
    assert!(text.contains("Facture F2026-00001") && text.contains("Département de la Gironde"), "{text}");
    let verify = ok(&tdb, d, &["ledger", "verify"]);
    assert!(verify.contains("tout concorde"), "{verify}");
}

fn common_siret(prefix13: &str) -> String {
    (0..10).map(|d| format!("{prefix13}{d}")).find(|s| s.parse::<issuer::Siret>().is_ok()).unwrap()
}

async fn invalid_configuration_names_the_setting(tdb: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let out = passerelle(&tdb, dir.path()).env("PASSERELLE_LISTEN", "partout").arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("configuration invalide — PASSERELLE_LISTEN"), "{}", text(&out));
    std::fs::write(dir.path().join("passerelle.toml"), "redemption_fee_bps = \"beaucoup\"\n").unwrap();
    let out = passerelle(&tdb, dir.path()).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("passerelle.toml"), "{}", text(&out));
    let out = passerelle(&tdb, dir.path())
        .env("DATABASE_URL", "mysql://x")
        .arg("--config")
        .arg("/nonexistent.toml")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = passerelle(&tdb, dir.path()).args(["ledger", "verify", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

/// Reads the child's stdout until a line contains `needle`, with a deadline.
fn wait_for_line(child: &mut std::process::Child, needle: &str) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let done = line.contains(needle);
            lines.push(line);
            if done {
                // Keep draining in the background so the child never blocks on a full pipe.
                std::thread::spawn(move || while rx.recv().is_ok() {});
                return lines;
            }
        }
    }
    panic!("no line with {needle:?} within 60 s; got {lines:?}");
}

#[test]
fn demo_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = wait_for_line(&mut child, "Essayez");
    assert!(lines[0].starts_with("Démo Passerelle prête : http://127.0.0.1:"), "{lines:?}");
    let funder_token = lines
        .iter()
        .find(|l| l.contains("financeur@gironde.demo"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        let me: serde_json::Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&funder_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["organisation"]["name"], "Département de la Gironde");
        // Every demo login shown opens its home page in the browser.
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let emails: Vec<&str> =
            lines.iter().filter_map(|l| l.split_whitespace().find(|w| w.contains(".demo"))).collect();
        assert!(emails.len() >= 6, "{lines:?}");
        for email in emails {
            let form = browser.get(format!("{base}/connexion")).send().await.unwrap();
            let cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let html = form.text().await.unwrap();
            let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = html[at..].split('"').next().unwrap().to_owned();
            let signed = browser
                .post(format!("{base}/connexion"))
                .header("cookie", cookie)
                .form(&[("email", email), ("password", passerelle::commands::demo::DEMO_PASSWORD), ("csrf", &csrf)])
                .send()
                .await
                .unwrap();
            assert_eq!(signed.status(), 303, "{email}");
            let session = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let home = browser.get(format!("{base}/")).header("cookie", session).send().await.unwrap();
            assert!(home.text().await.unwrap().contains("Bonjour"), "{email}");
        }
    });
    // An online backup while the server runs, restored and verified.
    let on = |db: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", format!("sqlite:{db}"))
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .unwrap()
    };
    let backup = on("passerelle-demo.db", &["backup", "--out", "sauvegarde.db"]);
    assert!(backup.status.success() && text(&backup).contains("Sauvegarde écrite"), "{}", text(&backup));
    let again = on("passerelle-demo.db", &["backup", "--out", "sauvegarde.db"]);
    assert!(!again.status.success() && text(&again).contains("existe déjà"), "{}", text(&again));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("sauvegarde.db")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner only");
    }
    let verified = on("sauvegarde.db", &["ledger", "verify"]);
    assert!(verified.status.success() && text(&verified).contains("tout concorde"), "{}", text(&verified));
    let balances = |db: &str| String::from_utf8(on(db, &["ledger", "trial-balance"]).stdout).unwrap();
    assert_eq!(balances("sauvegarde.db"), balances("passerelle-demo.db"));
    // The demo's books were handed over on many days, each before its first passage.
    rt.block_on(async {
        let url = format!("sqlite:{}", dir.path().join("sauvegarde.db").display());
        let db = ledger::Db::connect(&url, &ledger::db::PoolSettings::default()).await.unwrap();
        let (days, early): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(DISTINCT distributed_at / 86400000000) FROM books WHERE distributed_at IS NOT NULL), \
             (SELECT COUNT(*) FROM redemption_vouchers rv JOIN books b ON b.id = rv.book_id \
              WHERE b.distributed_at IS NULL OR rv.performed_at <= b.distributed_at)",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(days >= 30, "hand-overs spread over {days} days");
        assert_eq!(early, 0, "no passage before its book was handed over");
        db.close().await;
    });
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "graceful exit, got {code}");
            break;
        }
        assert!(Instant::now() < deadline, "did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("passerelle-demo.db").exists());
}

ledger::both_engines!(
    init_verify_and_tamper,
    invalid_configuration_names_the_setting,
    the_issuing_side_from_the_terminal
);
