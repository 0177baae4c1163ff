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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A running `postgres` with `fsync` off (test data only), trust authentication on
/// loopback, user `postgres`.
pub struct PostgresServer {
    child: Child,
    port: u16,
    dir: PathBuf,
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
    /// connections within 60 s (a busy machine).
    pub fn start() -> PostgresServer {
        let bin = server_bin_dir();
        let user = run_as();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("doudian-pg-{}-{nanos}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).expect("a directory for the cluster");
        if let Some(user) = &user {
            let status = Command::new("chown").arg(user).arg(&dir).status().expect("chown runs");
            assert!(status.success(), "chown {user} {} failed", dir.display());
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
        let log = std::fs::File::create(dir.join("postgres.log")).expect("the server log");
        if let Some(user) = &user {
            let _ = Command::new("chown").arg(user).arg(dir.join("postgres.log")).status();
        }
        let child = command(user.as_deref(), &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("unix_socket_directories={}", dir.display()))
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
        let started = Instant::now();
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("postgres exited at start ({status}): {}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "postgres on port {} did not accept connections within 60 s: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown, then a kill after 10 s).
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
            let started = Instant::now();
            while let Ok(None) = self.child.try_wait() {
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = self.child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}
