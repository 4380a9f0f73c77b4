//! The server against the real `psql` and `pgbench` (Debian's
//! postgresql-client; the tests skip themselves when absent): login with every
//! auth method over TCP, the Unix socket and TLS, and pgbench in the simple,
//! extended and prepared query modes.

mod server_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use postwire_codec::auth::{Md5Verifier, ScramVerifier};
use postwire_server::{Config, Credentials, Server, StaticUsers, TlsConfig, TlsMode};
use server_support::Toy;

/// A client binary of the installed PostgreSQL, if any.
fn binary(name: &str) -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/bin").join(name)];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        candidates.extend(dirs.flatten().map(|d| d.path().join("bin").join(name)));
    }
    candidates.into_iter().find(|p| p.exists())
}

fn users() -> StaticUsers {
    let scram = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
    StaticUsers::new()
        .user("trusty", Credentials::Trust)
        .user("plain", Credentials::Password("pencil".into()))
        .user("md5", Credentials::Md5(Md5Verifier::derive(b"md5", b"pencil").to_text().to_string()))
        .user("scram", Credentials::Scram(scram.to_text().to_string()))
}

/// A server with TCP (TLS optional) and a Unix socket in a fresh directory.
async fn server() -> (Server<Toy, StaticUsers>, u16, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    let tls = TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    let server = Server::new(Toy::default(), users(), Config::default());
    let port = server.listen_tcp("127.0.0.1:0", TlsMode::Optional(tls)).await.unwrap().port();
    let dir = std::env::temp_dir().join(format!("pw-psql-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    server.listen_unix(&dir, port, TlsMode::Disabled).await.unwrap();
    (server, port, dir)
}

/// Runs `program` with `args` and libpq environment `env`; (success, stdout, stderr).
async fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let child = tokio::process::Command::new(program)
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the program starts");
    let output =
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.expect("it ends").unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn psql_logs_in_with_every_method_over_tcp_unix_and_tls() {
    let Some(psql) = binary("psql") else {
        eprintln!("psql is not installed: skipped");
        return;
    };
    let (server, port, dir) = server().await;
    let port_text = port.to_string();
    let dir_text = dir.to_str().unwrap();
    // (host, sslmode)
    let routes = [("127.0.0.1", "disable"), (dir_text, "disable"), ("127.0.0.1", "require")];
    for user in ["trusty", "plain", "md5", "scram"] {
        for (host, sslmode) in routes {
            let args = ["-X", "-w", "-A", "-t", "-h", host, "-p", &port_text, "-U", user, "-d", "db", "-c", "SELECT 2"];
            let env = [("PGPASSWORD", "pencil"), ("PGSSLMODE", sslmode)];
            let (ok, out, err) = run(&psql, &args, &env).await;
            assert!(ok, "{user} via {host} sslmode={sslmode}: {err}");
            assert_eq!(out, "1|1\n2|4\n", "{user} via {host} sslmode={sslmode}");
            if user != "trusty" {
                let env = [("PGPASSWORD", "wrong"), ("PGSSLMODE", sslmode)];
                let (ok, _, err) = run(&psql, &args, &env).await;
                assert!(!ok, "{user} with a wrong password");
                assert!(err.contains(&format!("password authentication failed for user \"{user}\"")), "{err}");
            }
        }
    }
    // TLS was used when asked for.
    let tls_sessions = server.service().clients.lock().unwrap().iter().filter(|c| c.tls).count();
    assert!(tls_sessions >= 4, "{tls_sessions} TLS sessions");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn pgbench_in_simple_extended_and_prepared_modes() {
    let Some(pgbench) = binary("pgbench") else {
        eprintln!("pgbench is not installed: skipped");
        return;
    };
    let (_server, port, dir) = server().await;
    let simple = dir.join("simple.sql");
    std::fs::write(&simple, "SELECT 1;\n").unwrap();
    // In the extended modes pgbench sends :v as a parameter ($1).
    let extended = dir.join("extended.sql");
    std::fs::write(&extended, "\\set v random(1, 1000)\nSELECT :v::int4;\n").unwrap();
    let port_text = port.to_string();
    for (mode, script) in [("simple", &simple), ("extended", &extended), ("prepared", &extended)] {
        let args = [
            "-n",
            "-h",
            "127.0.0.1",
            "-p",
            &port_text,
            "-U",
            "scram",
            "-M",
            mode,
            "-f",
            script.to_str().unwrap(),
            "-t",
            "200",
            "-c",
            "2",
            "-j",
            "2",
            "db",
        ];
        let (ok, out, err) = run(&pgbench, &args, &[("PGPASSWORD", "pencil"), ("PGSSLMODE", "disable")]).await;
        assert!(ok, "pgbench -M {mode}: {err}\n{out}");
        assert!(out.contains("number of transactions actually processed: 400/400"), "-M {mode}: {out}");
        assert!(out.contains("number of failed transactions: 0 (0.000%)"), "-M {mode}: {out}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
