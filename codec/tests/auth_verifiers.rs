//! Verifiers written by a real PostgreSQL 15 (`fixtures/pg_verifiers.tsv`,
//! made by `fixtures/pg_verifiers.sh`) parse, accept the right password and
//! refuse a wrong one; the verifiers we make are the ones that script showed
//! PostgreSQL accepting for logins.

use postwire_codec::auth::{Md5Verifier, StoredPassword, scram::ScramVerifier};

const FIXTURES: &str = include_str!("fixtures/pg_verifiers.tsv");
const SCRIPT: &str = include_str!("fixtures/pg_verifiers.sh");

fn rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    FIXTURES.lines().filter(|l| !l.starts_with('#')).map(|line| {
        let mut parts = line.split('\t');
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap())
    })
}

#[test]
fn postgres_verifiers_check_passwords() {
    assert_eq!(rows().count(), 4);
    for (role, password, rolpassword) in rows() {
        match StoredPassword::parse(rolpassword) {
            StoredPassword::Scram(v) => {
                assert_eq!(v.iterations(), 4096);
                assert_eq!(v.salt().len(), 16);
                assert_eq!(v.to_text(), rolpassword, "text round trip");
                assert!(!v.verify_password(b"wrong"), "{role}");
                if role == "scram_wide" {
                    // PostgreSQL stored SASLprep("ｐａｓｓ") = "pass".
                    assert!(v.verify_password(b"pass"));
                    assert_eq!(v.verify_password(password.as_bytes()), cfg!(feature = "saslprep"));
                } else {
                    assert!(v.verify_password(password.as_bytes()), "{role}");
                }
            }
            StoredPassword::Md5(v) => {
                assert_eq!(v, Md5Verifier::derive(role.as_bytes(), password.as_bytes()));
                assert_ne!(v, Md5Verifier::derive(role.as_bytes(), b"wrong"));
                assert_eq!(v.to_text(), rolpassword);
            }
            StoredPassword::Plaintext(_) => panic!("{role}: not a verifier"),
        }
    }
}

#[test]
fn our_verifiers_are_the_ones_postgres_accepted() {
    let salt: Vec<u8> = (0..16).collect();
    let scram = ScramVerifier::derive(b"postwire-secret", &salt, 4096).unwrap().to_text();
    let md5 = Md5Verifier::derive(b"ours_md5", b"postwire-secret").to_text();
    assert!(SCRIPT.contains(&format!("ours_scram='{scram}'")), "{scram}");
    assert!(SCRIPT.contains(&format!("ours_md5='{md5}'")), "{md5}");
    assert!(FIXTURES.contains("# ours_scram: login with our verifier as ours_scram;"));
    assert!(FIXTURES.contains("# ours_md5: login with our verifier as ours_md5;"));
}
