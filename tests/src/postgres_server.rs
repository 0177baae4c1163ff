//! A real PostgreSQL cluster per test, from Debian's server binaries, on a free loopback
//! port in a private directory, stopped and removed when dropped.
//!
//! A test that needs PostgreSQL and cannot start it fails with the reason: it never
//! skips. `.ci/run` installs Debian's `postgresql` when its binaries are missing.
//! PostgreSQL refuses to run as root: as root (CI), the cluster belongs to the `postgres`
//! system user the package creates (`nobody` without it), and its commands run under
//! that user through `setpriv`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{poll_until, TempDir};

/// A running `postgres` with `fsync` off (test data only), trust authentication on
/// loopback, user `postgres`.
pub struct PostgresServer {
    child: Child,
    port: u16,
    dir: TempDir,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
fn server_bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (initdb, postgres): \
             install them (`apt-get install -y postgresql`; .ci/run does)"
        ),
    }
}

/// The user to run the cluster as when this process is root: `None` when it is not.
fn run_as() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().expect("`id -u` runs");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let has_postgres = Command::new("id").args(["-u", "postgres"]).output().is_ok_and(|o| o.status.success());
    Some(if has_postgres { "postgres" } else { "nobody" }.to_owned())
}

/// `program args…`, as `user` when given (through `setpriv`, which execs: the child is
/// the program itself, so stopping the child stops it).
fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let group = if user == "nobody" { "nogroup" } else { user };
            let mut command = Command::new("setpriv");
            command
                .args([format!("--reuid={user}"), format!("--regid={group}"), "--init-groups".to_owned()])
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

impl PostgresServer {
    /// Creates a cluster in a fresh temporary directory and starts it on a free port of
    /// 127.0.0.1; waits until it accepts connections.
    ///
    /// # Panics
    /// When the binaries are missing, `initdb` fails, or the server does not accept
    /// connections after 1,200 checks 50 ms apart (a minute or more on a busy machine).
    pub fn start() -> PostgresServer {
        let bin = server_bin_dir();
        let user = run_as();
        let dir = TempDir::new("postgres");
        let data = dir.path().join("data");
        if let Some(user) = &user {
            let status = Command::new("chown").arg(user).arg(dir.path()).status().expect("chown runs");
            assert!(status.success(), "chown {user} {} failed", dir.path().display());
        }
        let initdb = command(user.as_deref(), &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb ({e})"));
        assert!(
            initdb.status.success(),
            "initdb failed ({}): {}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).expect("the server log");
        if let Some(user) = &user {
            let _ = Command::new("chown").arg(user).arg(dir.path().join("postgres.log")).status();
        }
        let child = command(user.as_deref(), &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start postgres ({e})"));
        let mut server = PostgresServer { child, port, dir };
        server.wait_until_ready(&bin);
        server
    }

    fn wait_until_ready(&mut self, bin: &Path) {
        let port = self.port.to_string();
        let child = &mut self.child;
        let ready = poll_until(1_200, Duration::from_millis(50), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("postgres exited at start ({status})");
            }
            Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-q"])
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(ready, "postgres on port {port} did not accept connections after 1,200 checks: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown, then a kill when it has not ended after 500 checks
    /// 20 ms apart).
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
            let child = &mut self.child;
            if !poll_until(500, Duration::from_millis(20), || !matches!(child.try_wait(), Ok(None))) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // The directory goes with `dir` once the server is down.
        self.stop();
    }
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}
