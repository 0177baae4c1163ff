//! A real `redis-server` per test, on a free loopback port, stopped when dropped.
//!
//! A test that needs Redis and cannot start it fails with the reason: it never skips.
//! `.ci/run` installs Debian's `redis-server` when it is missing.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::poll_until;

/// A running `redis-server` with no persistence, its data in a private directory.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port of 127.0.0.1 and waits until it answers PING.
    ///
    /// # Panics
    /// When `redis-server` is not installed or does not answer PING after 500 checks 20 ms
    /// apart.
    pub fn start() -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("doudian-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let child = spawn(port, &dir);
        let mut server = RedisServer { child, port, dir };
        server.wait_until_up();
        server
    }

    /// Restarts the server on the same port, empty (it keeps no data across a restart):
    /// clients' connections break, and everything stored is gone.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(self.port, &self.dir);
        self.wait_until_up();
    }

    fn wait_until_up(&mut self) {
        let port = self.port;
        let child = &mut self.child;
        let up = poll_until(500, Duration::from_millis(20), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("redis-server on port {port} exited at start: {status}");
            }
            answers_ping(port)
        });
        assert!(up, "redis-server on port {port} did not answer PING after 500 checks 20 ms apart");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one command in Redis's inline form and returns the first reply line (for
    /// test assertions: `GET`, `TTL`, `KEYS`, ...). Bulk replies return their payload.
    pub fn command(&self, parts: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut request = format!("*{}\r\n", parts.len());
        for part in parts {
            request.push_str(&format!("${}\r\n{part}\r\n", part.len()));
        }
        stream.write_all(request.as_bytes()).expect("write to redis-server");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("a reply from redis-server");
        let line = line.trim_end().to_owned();
        if let Some(length) = line.strip_prefix('$') {
            let Ok(length) = length.parse::<usize>() else { return String::new() };
            let mut payload = vec![0u8; length + 2];
            std::io::Read::read_exact(&mut reader, &mut payload).expect("a bulk reply");
            payload.truncate(length);
            return String::from_utf8_lossy(&payload).into_owned();
        }
        line
    }

    /// Stops the server now (dropping it does the same).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answers_ping(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_millis(500))).ok();
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && std::io::Read::read_exact(&mut stream, &mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    })
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `redis-server` on `port` with no persistence, its files in `dir`.
fn spawn(port: u16, dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): install it (`apt-get install -y redis-server`; .ci/run does)")
        })
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}
