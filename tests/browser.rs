//! The pages in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (browser-tests/run.mjs) against a real server on each engine; every page passes axe-core's
//! WCAG 2.1 AA rules. Missing Chromium or Node.js fails the test (`.ci/run` installs them).
//! « Mot de passe oublié » goes through a real SMTP server (aiosmtpd) and the link it delivers.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use std::process::Command;

async fn pages_in_chromium(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser-tests");
    assert!(
        std::path::Path::new(dir).join("node_modules/playwright-core").is_dir(),
        "browser-tests/node_modules absent : lancez scripts/test.sh (npm ci) ou `npm ci` dans browser-tests"
    );
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, 1).await;
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let voucher = issuer::books::vouchers(&mut conn, book.id).await.unwrap()[0].code.clone();
    drop(conn);
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(dir)
            .args([
                "run.mjs",
                &base,
                "funder_a_manager@test.example",
                "not-used-password",
                "site_a_member@test.example",
                &voucher,
                "prescriber_member@test.example",
            ])
            .output()
            .expect("node (Node.js)")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let redeemed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM redemptions").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(redeemed, 1, "the passage confirmed in the browser is recorded");
    for line in [
        "axe connexion : aucune violation",
        "axe accueil : aucune violation",
        "connexion au clavier",
        "déconnexion : session fermée",
        "axe passage vérifié : aucune violation",
        "passage : vérifié, confirmé, reçu affiché",
        "axe remise : choix de la commune : aucune violation",
    ] {
        assert!(text.contains(line), "« {line} » in:\n{text}");
    }
}

/// A fake camera for Chromium (`--use-file-for-fake-video-capture`): a Y4M video whose frames
/// show `text` as the QR code printed on the voucher (the same modules as in the book's PDF).
fn camera_file(text: &str, path: &std::path::Path) {
    let (width, modules) = issuer::pdf::qr_modules(text).unwrap();
    let (w, h) = (640usize, 480usize);
    let scale = 420 / (width + 8);
    let (x0, y0) = ((w - width * scale) / 2, (h - width * scale) / 2);
    let mut luma = vec![235u8; w * h];
    for y in 0..width * scale {
        for x in 0..width * scale {
            if modules[(y / scale) * width + x / scale] {
                luma[(y0 + y) * w + x0 + x] = 25;
            }
        }
    }
    let mut out = format!("YUV4MPEG2 W{w} H{h} F5:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.extend(std::iter::repeat_n(128u8, w * h / 2));
    }
    std::fs::write(path, out).unwrap();
}

/// Every role does its main work in Chromium, every page checked by axe: the operator creates,
/// confirms, issues an order and gives its books to a prescriber, decides an accreditation, adds a
/// service, checks the ledger, invites a member; the funder sees its books per prescriber; the
/// prescriber hands a book over; the site scans a voucher with the (fake) camera, confirms, finds
/// the passage in its history, then records another passage offline that is synced when the
/// connection returns.
async fn roles_in_chromium(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser-tests");
    let funder = s.who("funder_a_manager").organisation_id;
    let order = s.issued_order(funder, 1, 2).await;
    let prescriber = s.who("prescriber_member").organisation_id;
    let mut tx = s.tdb.db.begin().await.unwrap();
    let range = issuer::books::BookSelection::Range { order_id: order.id, from: 1, to: 1 };
    issuer::books::assign(&mut tx, &range, prescriber).await.unwrap();
    tx.commit().await.unwrap();
    let printed = issuer::print_run::books(&s.tdb.db, &order, &s.base, 1, 1).await.unwrap();
    let (first, second) = (&printed[0].vouchers[0], &printed[0].vouchers[1]);
    let work = tempfile::tempdir().unwrap();
    let camera = work.path().join("camera.y4m");
    camera_file(&first.qr_payload, &camera);
    let site_b = s.who("site_b_manager").organisation_id;
    let args = serde_json::json!({
        "base": s.base,
        "password": "not-used-password",
        "operator": "operator_manager@test.example",
        "funder": "funder_a_manager@test.example",
        "prescriber": "prescriber_member@test.example",
        "site": "site_a_member@test.example",
        "siteB": site_b,
        "camera": camera.display().to_string(),
        "firstCode": first.code_display,
        "secondQr": second.qr_payload,
    })
    .to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").current_dir(dir).args(["roles.mjs", &args]).output().expect("node (Node.js)")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for line in [
        "opérateur : commande créée, confirmée, émise, carnets confiés",
        "opérateur : agrément suspendu, service ajouté, grand livre contrôlé, membre invité",
        "financeur : tableau de bord, rapport d'impact, carnets par prescripteur",
        "prescripteur : carnet remis",
        "lieu : chèque lu par la caméra, passage confirmé, visible dans l'historique",
        "lieu : passage hors ligne mis en attente puis synchronisé",
    ] {
        assert!(text.contains(line), "« {line} » in:\n{text}");
    }
    // What the browser did is in the database and the ledger.
    let db = s.tdb.db.pool();
    let books: Vec<i64> = sqlx::query_scalar(
        "SELECT v.book_id FROM redemption_vouchers rv JOIN vouchers v ON v.id = rv.voucher_id ORDER BY rv.redemption_id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(books.len(), 2, "the camera passage and the offline one are recorded");
    let created: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE label = 'Commande navigateur' AND status = 'issued'")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(created, 1, "the order created in the browser is issued");
    let assigned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM books b JOIN orders o ON o.id = b.order_id WHERE o.label = 'Commande navigateur' AND b.prescriber_id = $1",
    )
    .bind(prescriber)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(assigned, 2);
    let suspended: String = sqlx::query_scalar("SELECT status FROM sites WHERE organisation_id = $1")
        .bind(site_b)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(suspended, "suspended");
    let payable = ledger::query::balance(
        &s.tdb.db,
        &format!("site:{}:payable", s.who("site_a_member").organisation_id).parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(payable.natural.0, 2 * order.face_value_cents, "two vouchers owed to the site");
    let report = ledger::verify::verify(&s.tdb.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

/// « Mot de passe oublié » end to end in Chromium: the sign-in page's link, the request, the
/// message delivered to a real SMTP server (aiosmtpd), its link opened in the browser to choose
/// a new password, signing in with it, the link refused the second time.
async fn forgot_password_in_chromium(tdb: TestDb) {
    let mail = common::smtp::SmtpServer::start().await;
    let s = TestServer::start_with(tdb, &[("PASSERELLE_SMTP_URL", &mail.url())]).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser-tests");
    let email = "prescriber_manager@test.example";
    let node = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let out =
                Command::new("node").current_dir(dir).arg("forgot.mjs").args(args).output().expect("node (Node.js)");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{text}");
            text
        })
    };
    let said = node(vec!["request".into(), s.base.clone(), email.into()]).await.unwrap();
    assert!(said.contains("axe mot de passe oublié : aucune violation"), "{said}");
    let message = mail.wait_for(1).await.remove(0);
    assert_eq!(message.to, email);
    let link =
        common::smtp::link_in(message.text.as_deref().unwrap(), &format!("{}/nouveau-mot-de-passe?jeton=", s.base));
    let said = node(vec!["choose".into(), s.base.clone(), link, email.into(), "un mot de passe choisi par moi".into()])
        .await
        .unwrap();
    for line in [
        "axe nouveau mot de passe : aucune violation",
        "nouveau mot de passe : enregistré, connexion réussie",
        "lien déjà utilisé : refusé",
    ] {
        assert!(said.contains(line), "« {line} » in:\n{said}");
    }
}

ledger::both_engines!(pages_in_chromium, roles_in_chromium, forgot_password_in_chromium);
