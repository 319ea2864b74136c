//! Forgery: 100 000 altered or random voucher codes and tokens against a real issued order on
//! both engines. A typed code is accepted only if it reads *and* names an issued voucher; a
//! token only if it reads *and* its Ed25519 signature verifies. None is accepted.

use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use issuer::scan::{self, Scanned};
use issuer::{issuance, print_run};
use ledger::testing::TestDb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

async fn forged_inputs_are_refused(t: TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    let funder =
        issuer::testing::gironde_organisation(&mut tx, OrgKind::Funder, "Département", "2233000190001", "departement")
            .await;
    let new: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Commande", "funders": [{"funder_id": funder, "share_bps": 10000}], "books": 20, "vouchers_per_book": 10,
        "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
    }))
    .unwrap();
    let order =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 }, None).await.unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    tx.commit().await.unwrap();
    let (_dir, keys) = issuer::testing::key_ring();
    issuance::issue(&t.db, &keys, order.id, &|_, _| {}).await.unwrap();
    let order = orders::get(&t.db, order.id).await.unwrap().unwrap();
    let printed = print_run::books(&t.db, &order, "https://passerelle.example", 1, 20).await.unwrap();
    let vouchers: Vec<_> = printed.iter().flat_map(|b| b.vouchers.clone()).collect();
    let issued: HashSet<String> = vouchers.iter().map(|v| v.code_display.clone()).collect();
    assert_eq!(issued.len(), 200);

    let mut rng = StdRng::seed_from_u64(20261126);
    let (mut tried, mut read_ok) = (0u64, 0u64);
    // 60 000 random typed codes (the right shape, random characters).
    for _ in 0..60_000 {
        let chars: String = (0..13).map(|_| ALPHABET[rng.random_range(0..32)] as char).collect();
        let typed = format!("{}-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12], &chars[12..13]);
        tried += 1;
        if let Ok(code) = issuer::code::VoucherCode::parse_typed(&typed) {
            read_ok += 1;
            assert!(!issued.contains(&code.display()), "random code {typed} names an issued voucher");
        }
    }
    // 30 000 real codes with one character changed: the check character catches every one.
    for _ in 0..30_000 {
        let v = &vouchers[rng.random_range(0..vouchers.len())];
        let mut chars: Vec<u8> = v.code_display.bytes().collect();
        let positions: Vec<usize> = (0..chars.len()).filter(|&i| chars[i] != b'-').collect();
        let i = positions[rng.random_range(0..positions.len())];
        let original = chars[i];
        while chars[i] == original {
            chars[i] = ALPHABET[rng.random_range(0..32)];
        }
        let altered = String::from_utf8(chars).unwrap();
        tried += 1;
        assert!(issuer::code::VoucherCode::parse_typed(&altered).is_err(), "{altered} read as a code");
    }
    // 10 000 real tokens with one character of the token changed: never a valid signature.
    for _ in 0..10_000 {
        let v = &vouchers[rng.random_range(0..vouchers.len())];
        let url = &v.qr_payload;
        let start = url.rfind('/').unwrap() + 1;
        let mut chars: Vec<u8> = url.bytes().collect();
        let i = rng.random_range(start..chars.len());
        let original = chars[i];
        while chars[i] == original {
            chars[i] = ALPHABET[rng.random_range(0..32)];
        }
        let altered = String::from_utf8(chars).unwrap();
        tried += 1;
        if let Ok(Scanned::Token(token)) = scan::parse(&altered) {
            assert!(token.verify(&keys).is_err(), "altered token {altered} verifies");
        }
    }
    assert_eq!(tried, 100_000);
    // About one random code in 32 has a valid check character; none of them was issued.
    assert!((1_000..3_000).contains(&read_ok), "{read_ok}");
    // The untouched tokens do verify (the test would be empty otherwise).
    for v in &vouchers {
        let Ok(Scanned::Token(token)) = scan::parse(&v.qr_payload) else { panic!("{}", v.qr_payload) };
        token.verify(&keys).unwrap();
    }
}

ledger::both_engines!(forged_inputs_are_refused);
