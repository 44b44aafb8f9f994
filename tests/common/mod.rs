//! Helpers shared by the black-box tests in `tests/`: a real `leither` node in a fresh
//! temporary home, started with the built binary and stopped when the handle is dropped.
//! Readiness is the node's own signal (`leither.addr`, written once every listener is bound)
//! and every port comes from `leither.ports`, never from a port bound and released here, except
//! RESP and HTTPS, which a setting of 0 turns off: those are picked free and the start is
//! retried when another program took the port first ([`TestNode::start_listening`]).
//!
//! Each test file that uses this says `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod dnn;
pub mod netns;
pub mod peer;
#[cfg(feature = "net")]
pub mod rogue;
pub mod web;

/// How long a node may take to write `leither.addr` after `run` (generous: a loaded machine
/// may take seconds to open the store; a healthy start takes milliseconds).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often [`TestNode::start_listening`] tries another port after a collision.
const START_ATTEMPTS: usize = 5;
/// How long a node may take to exit after SIGTERM before it is killed (as `leither stop`
/// waits: a loaded machine may take seconds to drain and close the store).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The built `leither` binary (Cargo builds it for integration tests).
pub const BIN: &str = env!("CARGO_BIN_EXE_leither");

/// The file in the home where the node's stderr goes.
pub const STDERR_FILE: &str = "test-node.stderr";

/// A running node: `leither --home HOME run` in the foreground, with port 0 (a free port).
pub struct TestNode {
    /// The node's home, a fresh directory under the system temp dir.
    pub home: PathBuf,
    /// `http://127.0.0.1:PORT`, from `HOME/leither.addr`.
    pub url: String,
    /// Every listener, `(name, address)`, from `HOME/leither.ports` (docs/storage.md).
    pub listeners: Vec<(String, String)>,
    child: Child,
}

impl TestNode {
    /// Makes a fresh home, runs `init -p 0 -b ""` on it, starts `run` and waits until the
    /// node has written `leither.addr`. Panics (with the node's stderr) if it does not.
    pub fn start() -> TestNode {
        TestNode::start_with(|_| {})
    }

    /// [`TestNode::start`], calling `configure` with the home between `init` and `run`
    /// (to edit SystemVars.json with [`set_system_var`], say).
    pub fn start_with(configure: impl FnOnce(&Path)) -> TestNode {
        TestNode::start_with_env(configure, &[])
    }

    /// [`TestNode::start_with`], with `env` added to the node's environment.
    pub fn start_with_env(configure: impl FnOnce(&Path), env: &[(&str, &str)]) -> TestNode {
        let home = fresh_home();
        let init = Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .args(["init", "-p", "0", "-b", "", "-l", "127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run the leither binary");
        assert!(
            init.status.success(),
            "`leither --home {} init -p 0 -b \"\"` failed ({}):\nstdout:\n{}\nstderr:\n{}",
            home.display(),
            init.status,
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );

        // Test nodes find each other only when a test connects them.
        set_system_var(&home, "Mdns", leither::api::Value::Bool(false));
        configure(&home);

        let stderr =
            fs::File::create(home.join(STDERR_FILE)).expect("cannot create the stderr file");
        let child = Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .arg("run")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot spawn `leither run`");
        let mut node = TestNode {
            home,
            url: String::new(),
            listeners: Vec::new(),
            child,
        };
        node.url = format!("http://{}", node.wait_for_addr());
        node.listeners = read_listeners(&node.home);
        node
    }

    /// [`TestNode::start_with`] with the listener `name` (`"resp"`, `"https"`) on a free port
    /// set as `key` (`RespPort`, `HttpsPort`; 0 turns those off, so the node cannot pick one):
    /// when another program took the port before the node bound it, the node runs without that
    /// listener, and this starts it again on another port.
    pub fn start_listening(name: &str, key: &str, configure: impl Fn(&Path)) -> TestNode {
        TestNode::start_listening_env(name, key, configure, &[])
    }

    /// [`TestNode::start_listening`], with `env` added to the node's environment.
    pub fn start_listening_env(
        name: &str,
        key: &str,
        configure: impl Fn(&Path),
        env: &[(&str, &str)],
    ) -> TestNode {
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let node = TestNode::start_with_env(
                |h| {
                    set_system_var(h, key, leither::api::Value::Int(port.into()));
                    configure(h);
                },
                env,
            );
            if node.listener(name).is_some() {
                return node;
            }
            eprintln!("{key} {port} was taken before the node bound it; trying another");
        }
        panic!("the node did not get a free {key} in {START_ATTEMPTS} attempts");
    }

    /// The address of the listener `name` (`http`, `https`, `resp`; `swarm` gives the first).
    pub fn listener(&self, name: &str) -> Option<&str> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.as_str())
    }

    /// The port of the listener `name`; panics if the node has none.
    pub fn port_of(&self, name: &str) -> u16 {
        let a = self.listener(name).unwrap_or_else(|| {
            panic!(
                "the node has no {name} listener ({:?}); stderr:\n{}",
                self.listeners,
                self.stderr()
            )
        });
        a.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("ip:port")
    }

    /// The swarm's loopback TCP address, `/ip4/127.0.0.1/tcp/PORT/p2p/PEERID` (the node must
    /// have been started with the network on: `SwarmPort` 0 in a test).
    pub fn swarm_addr(&self) -> String {
        let swarm: Vec<&str> = self
            .listeners
            .iter()
            .filter(|(n, _)| n == "swarm")
            .map(|(_, a)| a.as_str())
            .collect();
        swarm
            .iter()
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
            .or_else(|| swarm.iter().find(|a| a.contains("/tcp/")))
            .map(|a| a.to_string())
            .unwrap_or_else(|| {
                panic!(
                    "the node names no TCP swarm address ({:?}); stderr:\n{}",
                    self.listeners,
                    self.stderr()
                )
            })
    }

    /// The port the node listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("url has a port")
    }

    /// The process id of the node.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the node wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.home.join(STDERR_FILE)).unwrap_or_default()
    }

    /// Stops the node (SIGTERM, then SIGKILL after a grace period) and returns its exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// Kills the node with SIGKILL at once (a crash, a power cut for the process: no
    /// cleanup runs) and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `run` again on the same home (after [`TestNode::kill`] or
    /// [`TestNode::stop`]) and waits until it is ready, as [`TestNode::start`] does.
    pub fn restart(&mut self) {
        let _ = fs::remove_file(self.home.join("leither.addr"));
        let stderr = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.home.join(STDERR_FILE))
            .expect("cannot open the stderr file");
        self.child = Command::new(BIN)
            .arg("--home")
            .arg(&self.home)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot spawn `leither run`");
        self.url = format!("http://{}", self.wait_for_addr());
        self.listeners = read_listeners(&self.home);
    }

    /// Waits (without signalling) until the node exits, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return None,
            }
        }
        None
    }

    fn wait_for_addr(&mut self) -> String {
        let addr_file = self.home.join("leither.addr");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = fs::read_to_string(&addr_file) {
                let line = text.lines().next().unwrap_or("").trim().to_string();
                if !line.is_empty() {
                    return line;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "`leither --home {} run` exited ({status}) before writing leither.addr; stderr:\n{}",
                    self.home.display(),
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "`leither --home {} run` did not write leither.addr within {:?}; stderr:\n{}",
                    self.home.display(),
                    START_TIMEOUT,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop();
        // LEITHER_KEEP_TEST_HOME=1 keeps the homes for a look (failures print the node's stderr).
        if std::env::var_os("LEITHER_KEEP_TEST_HOME").is_none() {
            let _ = fs::remove_dir_all(&self.home);
        } else {
            eprintln!("test node home kept at {}", self.home.display());
        }
    }
}

/// A new, empty directory under the system temp dir, unique across processes and threads.
pub fn fresh_home() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut name = format!(
        "leither-test-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    // A 27-character name can read as a Mimei ID, and `lever deploy` then refuses the folder
    // as ambiguous (a test failed so once: "leither-test-635-5-30586469").
    if name.len() == 27 {
        name.push_str("-x");
    }
    let dir = std::env::temp_dir().join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("cannot create a temp home");
    dir
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `leither --home HOME ARGS...` with no standard input and returns its output.
pub fn leither(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run leither")
}

/// Asserts that a command succeeded (showing its output if not) and returns its stdout.
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs curl with `args` and returns the HTTP status and the body (or headers, with `-I`).
pub fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-m", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is needed for these tests (apt-get install curl)");
    let mut b = out.stdout;
    let pos = b.iter().rposition(|&c| c == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&b[pos.min(b.len())..])
        .trim()
        .parse()
        .unwrap_or(0);
    b.truncate(pos);
    (code, b)
}

/// Sets `key` to `value` in `HOME/SystemVars.json` (a JSON object), keeping the other keys.
pub fn set_system_var(home: &Path, key: &str, value: leither::api::Value) {
    use leither::api::{Value, json};
    let path = home.join("SystemVars.json");
    let text = fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let doc = json::decode(&text, &json::JsonLimits::default())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let Value::Map(mut entries) = doc else {
        panic!("{} is not a JSON object", path.display());
    };
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key.to_string(), value)),
    }
    let mut out = String::new();
    json::encode_pretty(&Value::Map(entries), &mut out);
    out.push('\n');
    fs::write(&path, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The listeners in `HOME/leither.ports`: `(name, address)` per line.
pub fn read_listeners(home: &Path) -> Vec<(String, String)> {
    fs::read_to_string(home.join("leither.ports"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, a)| (n.to_string(), a.trim().to_string()))
        .collect()
}

/// A TCP port that was free a moment ago on 127.0.0.1 (bound to port 0, read, released).
/// Someone else may bind it before whoever it is handed to: use it only where a collision is
/// detected and retried ([`TestNode::start_listening`]).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind 127.0.0.1:0")
}

/// Admits `uid` as a user of the node at `home` (`leither lpki addkey -i UID`), as an owner
/// does before a key of theirs may store anything (docs/security.md, "Who may do what").
pub fn admit(home: &Path, uid: &str) {
    ok(&leither(home, &["lpki", "addkey", "-i", uid]));
}

/// A fresh key that the node at `home` admitted.
pub fn admitted_key(home: &Path) -> leither::pki::NodeKey {
    let k = leither::pki::NodeKey::generate().expect("a key");
    admit(home, &k.id().to_string());
    k
}

/// A TCP connection to `127.0.0.1:port` from `source` (any 127/8 address: tests play callers
/// from other addresses, 127.0.0.1 being the owner's loopback), connected within 5 s, its
/// reads and writes bounded by `wait`.
pub fn connect_from(
    port: u16,
    source: &str,
    wait: Duration,
) -> std::io::Result<std::net::TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind(format!("{source}:0").parse().unwrap())?;
        tokio::time::timeout(Duration::from_secs(5), s.connect(target))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    })?;
    let s = s.into_std()?;
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(wait))?;
    s.set_write_timeout(Some(wait))?;
    Ok(s)
}

/// `POST path` with a JSON `body` on `s` (`Connection: close`): the status (0 when no answer
/// came) and the body.
pub fn post_json_on(mut s: std::net::TcpStream, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// `POST /api/F` with `args` as the JSON door takes them: the status and the decoded answer
/// (`Null` when it is not JSON).
pub fn api_json(n: &TestNode, f: &str, args: &[leither::api::Value]) -> (u16, leither::api::Value) {
    use leither::api::{Value, json};
    let mut body = String::new();
    json::encode(&Value::List(args.to_vec()), &mut body);
    let url = format!("{}/api/{f}", n.url);
    let (s, b) = curl(&["-X", "POST", "--data-binary", &body, &url]);
    let v = json::decode(&b, &json::JsonLimits::default()).unwrap_or(Value::Null);
    (s, v)
}

/// Writes a file of `len` pseudo-random bytes (xorshift from `seed`: the same seed, the same
/// bytes).
pub fn random_file(path: &Path, len: usize, seed: u64) {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    std::fs::write(path, v).unwrap();
}

/// A file Mimei on the node at `home`, readable by anyone, with `file` as version 1 (with
/// `mark`, its own mark, so one node can hold several). Returns its ID.
pub fn public_file_mimei(home: &Path, file: &Path, mark: Option<&str>) -> String {
    let mut create = vec!["mimei", "create", "-t", "file"];
    if let Some(m) = mark {
        create.extend(["-m", m]);
    }
    let out = ok(&leither(home, &create));
    let mid = out
        .lines()
        .find_map(|l| l.strip_prefix("mid= "))
        .expect("mid= line")
        .to_string();
    ok(&leither(home, &["mimei", "setright", &mid, "*", "read"]));
    ok(&leither(
        home,
        &["mimei", "add", &mid, file.to_str().unwrap()],
    ));
    mid
}

/// `leither lever deploy DIR --env dev.lever` on the node at `home`, which must succeed;
/// returns its output.
pub fn deploy_dev(home: &Path, dir: &Path) -> String {
    ok(&leither(
        home,
        &[
            "lever",
            "deploy",
            dir.to_str().unwrap(),
            "--env",
            "dev.lever",
        ],
    ))
}
