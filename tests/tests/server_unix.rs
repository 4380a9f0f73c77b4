//! The server on a Unix-domain socket with tokio-postgres, and the real
//! `psql` over TCP and the socket (skipped when psql is not installed).

mod server_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use postwire_server::{Config, Peer, Server, TlsMode, Trust};
use server_support::{Toy, simple_rows, spawn_connection};
use tokio::io::AsyncWriteExt;

fn socket_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pw-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn unix_server() -> (Server<Toy, Trust>, PathBuf, u16, u16) {
    let server = Server::new(Toy::default(), Trust, Config::default());
    let tcp = server.listen_tcp("127.0.0.1:0", TlsMode::Disabled).await.unwrap();
    let dir = socket_dir();
    // The socket is named after a port; use the TCP one, as PostgreSQL does.
    server.listen_unix(&dir, tcp.port(), TlsMode::Disabled).await.unwrap();
    (server, dir, tcp.port(), tcp.port())
}

#[tokio::test]
async fn tokio_postgres_over_a_unix_socket() {
    let (server, dir, port, _) = unix_server().await;
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    assert!(socket.exists());
    let mut config = tokio_postgres::Config::new();
    config.host_path(&dir).port(port).user("alice").dbname("db");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 4").await.unwrap()).len(), 4);
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    assert_eq!(client.query_one(&statement, &[&11]).await.unwrap().get::<_, i32>(0), 11);
    assert_eq!(server.service().clients.lock().unwrap()[0].peer, Peer::Unix);

    // A second server may not take a socket in use.
    let other = Server::new(Toy::default(), Trust, Config::default());
    assert!(other.listen_unix(&dir, port, TlsMode::Disabled).await.is_err());

    drop(client);
    server.shutdown(Duration::from_secs(5)).await;
    assert!(!socket.exists(), "the socket file is removed at shutdown");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The psql binary, if installed.
fn psql() -> Option<PathBuf> {
    let candidates = ["/usr/bin/psql", "/usr/lib/postgresql/17/bin/psql", "/usr/lib/postgresql/15/bin/psql"];
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Runs psql with `args` and `stdin`, returning (success, stdout, stderr).
async fn run_psql(psql: &Path, host: &str, port: u16, args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let mut child = tokio::process::Command::new(psql)
        .args(["-X", "-w", "-A", "-t", "-h", host, "-p", &port.to_string(), "-U", "alice", "-d", "db"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGSSLMODE", "disable")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("psql starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let output =
        tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.expect("psql ends").unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn psql_over_tcp_and_the_unix_socket() {
    let Some(psql) = psql() else {
        eprintln!("psql is not installed: skipped");
        return;
    };
    let (server, dir, port, _) = unix_server().await;
    let dir_text = dir.to_str().unwrap().to_owned();
    for host in ["127.0.0.1", dir_text.as_str()] {
        let (ok, out, err) = run_psql(&psql, host, port, &["-c", "SELECT 3"], b"").await;
        assert!(ok, "psql -h {host}: {err}");
        assert_eq!(out, "1|1\n2|4\n3|9\n");

        let (ok, _, err) = run_psql(&psql, host, port, &["-c", "bogus"], b"").await;
        assert!(!ok);
        assert!(err.contains("ERROR:  syntax error at or near \"bogus\""), "{err}");
    }
    // COPY both ways through the simple query protocol.
    let (ok, out, err) = run_psql(&psql, &dir_text, port, &["-c", "COPY t TO STDOUT"], b"").await;
    assert!(ok, "{err}");
    assert_eq!(out, "a\nb\nc\n");
    let (ok, out, err) = run_psql(&psql, "127.0.0.1", port, &["-c", "COPY t FROM STDIN"], b"x\ny\n").await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "COPY 2");
    assert_eq!(*server.service().copied.lock().unwrap(), ["x", "y"]);
    // The server's notices reach psql.
    let (ok, _, err) = run_psql(&psql, "127.0.0.1", port, &["-c", "NOTICE"], b"").await;
    assert!(ok);
    assert!(err.contains("WARNING:  careful") || err.contains("NOTICE:  careful"), "{err}");
    server.shutdown(Duration::from_secs(5)).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
