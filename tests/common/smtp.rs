//! A real SMTP server for the tests: `aiosmtpd` (PyPI, installed by .ci/run) started by the test
//! itself on a free loopback port, writing every message it receives to a folder
//! (tests/smtp/maildir_sink.py). Messages are read back with Python's standard email parser
//! (tests/smtp/parse_eml.py).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SMTP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp");

pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// A message as Python's email parser read it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Parsed {
    pub subject: String,
    pub from: String,
    pub to: String,
    pub envelope_to: String,
    pub message_id: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub defects: Vec<String>,
}

/// A loopback port nobody listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on(free_port()).await
    }

    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "maildir_sink.Sink"])
            .arg(dir.path())
            .env("PYTHONPATH", SMTP_DIR)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 (with aiosmtpd from PyPI: .ci/run installs it)");
        for _ in 0..200 {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("aiosmtpd stopped at once ({status}): {err} — python3 -m pip install aiosmtpd==1.4.6");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return SmtpServer { port, dir, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        panic!("aiosmtpd does not accept connections on port {port} after 20 s");
    }

    /// `PASSERELLE_SMTP_URL` for this server (plain text on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The files received so far, in order.
    pub fn files(&self) -> Vec<PathBuf> {
        eml_files(self.dir.path())
    }

    /// Waits until at least `n` messages arrived (20 s at most), and returns them all, parsed.
    pub async fn wait_for(&self, n: usize) -> Vec<Parsed> {
        for _ in 0..200 {
            if self.files().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let files = self.files();
        assert!(files.len() >= n, "{} message(s) received, {n} expected", files.len());
        files.iter().map(|f| parse(f)).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `.eml` files of a folder, sorted by name.
pub fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort();
    files
}

/// Reads an .eml file with Python's email parser.
pub fn parse(file: &Path) -> Parsed {
    let out = Command::new("python3").arg(format!("{SMTP_DIR}/parse_eml.py")).arg(file).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first link of a text that starts with `prefix`, up to the first blank or quote.
pub fn link_in(text: &str, prefix: &str) -> String {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in {text}"));
    text[at..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_owned()
}
