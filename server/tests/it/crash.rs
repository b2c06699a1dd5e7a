//! Crash safety: the real `flowgate` binary is killed with SIGKILL several times while
//! thousands of asynchronous calls are in flight, and restarted on the same port and data.
//! Every call that got a `202` must end `succeeded` with its own answer (none lost), the
//! ordered trigger must have run its calls one at a time in sequence order, and re-runs
//! (at least once) must stay few.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, fresh_config, Db, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Calls sent to each of the two triggers (acknowledged ones; refused ones are sent again).
const CALLS_PER_TRIGGER: usize = 5_000;
/// Concurrent callers.
const CALLERS: usize = 32;
/// SIGKILLs, spread evenly over the acknowledged calls.
const KILLS: usize = 3;
/// The server's `worker.concurrency` (the default, set explicitly for the bound below).
const WORKER_CONCURRENCY: usize = 16;
/// How long the server stays dead before it is started again.
const DOWN_FOR: Duration = Duration::from_millis(300);
/// Bounds of the phases (nextest stops a test after 120 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);
const SEND_TIMEOUT: Duration = Duration::from_secs(75);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

const UNORDERED: &str = "crash-unordered";
const ORDERED: &str = "crash-ordered";

/// The real binary as a child process, restartable on the same port, data dir and database.
struct Server {
    data_dir: PathBuf,
    port: u16,
    /// Empty for SQLite (the data dir's database).
    database_url: String,
    child: Option<Child>,
    starts: usize,
    /// More settings for the process (e.g. cluster timings).
    env: Vec<(&'static str, String)>,
}

impl Server {
    fn new(data_dir: &Path, database_url: String) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Server {
            data_dir: data_dir.to_path_buf(),
            port,
            database_url,
            child: None,
            starts: 0,
            env: Vec::new(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stdout_path(&self) -> PathBuf {
        self.data_dir
            .join(format!("server-{}.stdout.log", self.port))
    }

    fn stderr_path(&self) -> PathBuf {
        self.data_dir
            .join(format!("server-{}.stderr.log", self.port))
    }

    fn log_file(path: &Path, marker: &str) -> std::fs::File {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "===== {marker} =====").unwrap();
        f
    }

    /// Starts the binary and waits until `/healthz` answers 200.
    async fn start(&mut self, http: &reqwest::Client) {
        assert!(self.child.is_none(), "the server is already running");
        self.starts += 1;
        let marker = format!("start #{}", self.starts);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowgate"));
        cmd.arg("serve")
            .env_remove("FLOWGATE_CONFIG")
            .env("FLOWGATE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("FLOWGATE_DATA_DIR", &self.data_dir)
            .env("FLOWGATE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("FLOWGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "FLOWGATE_WORKER__CONCURRENCY",
                WORKER_CONCURRENCY.to_string(),
            )
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Self::log_file(&self.stdout_path(), &marker))
            .stderr(Self::log_file(&self.stderr_path(), &marker));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if self.database_url.is_empty() {
            cmd.env_remove("FLOWGATE_DATABASE_URL");
        } else {
            cmd.env("FLOWGATE_DATABASE_URL", &self.database_url);
        }
        self.child = Some(cmd.spawn().unwrap());
        let started = Instant::now();
        loop {
            self.assert_alive();
            if let Ok(r) = http.get(format!("{}/healthz", self.base())).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the server did not become healthy within {START_TIMEOUT:?}\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Panics (with the log) if the running server has exited on its own.
    fn assert_alive(&mut self) {
        let child = self.child.as_mut().expect("the server is not running");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited by itself: {status}\n{}", self.log_tail());
        }
    }

    /// SIGKILL, and reap the process.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is not running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The server's warnings and errors, all starts together.
    fn warnings(&self) -> Vec<String> {
        let text = std::fs::read(self.stdout_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with("=====") || l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_owned)
            .collect()
    }

    fn log_tail(&self) -> String {
        let mut out = String::new();
        for path in [self.stdout_path(), self.stderr_path()] {
            let text = std::fs::read(&path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(60);
            out.push_str(&format!(
                "--- last {} lines of {} ---\n",
                lines.len() - from,
                path.display()
            ));
            for l in &lines[from..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // Keep the whole logs: the temp dir goes away with the test.
            let keep = std::env::temp_dir().join(format!(
                "flowgate-crash-logs-{}",
                uuid::Uuid::new_v4().simple()
            ));
            let kept = std::fs::create_dir_all(&keep).is_ok()
                && std::fs::copy(self.stdout_path(), keep.join("server.stdout.log")).is_ok()
                && std::fs::copy(self.stderr_path(), keep.join("server.stderr.log")).is_ok();
            eprintln!("{}", self.log_tail());
            if kept {
                eprintln!("full server logs kept in {}", keep.display());
            }
        }
    }
}

/// The admin API of a server that runs in another process.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// All executions of an integration, newest first (pages through the cursor).
    async fn all_executions(&self, slug: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/executions?integration={slug}&limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, body) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            out.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Whether any execution (of any integration) has this status.
    async fn any_with_status(&self, status: &str) -> bool {
        let path = format!("/api/v1/executions?status={status}&limit=1");
        let (code, body) = self.get(&path).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        !body["items"].as_array().unwrap().is_empty()
    }
}

/// A little work, then the answer echoes `n`.
fn steps() -> Value {
    json!([
        {"type": "script", "code": "let s = 0; for i in 0..20 { s += i * request.body.n; } vars.sum = s;"},
        {"type": "respond", "status": 200, "body_expr": "#{n: request.body.n, sum: vars.sum}"}
    ])
}

/// A call that got its 202.
struct Acked {
    slug: &'static str,
    n: usize,
    id: String,
    /// Which caller task sent it, and that caller's count of acknowledged calls before it.
    caller: usize,
    order: usize,
}

#[derive(Default)]
struct Refusals {
    connection_errors: usize,
    statuses: BTreeMap<u16, usize>,
}

fn parse_time(e: &Value, field: &str) -> chrono::DateTime<chrono::FixedOffset> {
    let s = e[field]
        .as_str()
        .unwrap_or_else(|| panic!("execution without {field}: {e}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|err| panic!("{field} {s:?}: {err}"))
}

async fn kill_9_loses_no_acknowledged_call(db: Db) {
    let test_started = Instant::now();
    let (cfg, dir) = fresh_config(db).await;
    let mut server = Server::new(dir.path(), cfg.database_url.clone());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    server.start(&http).await;

    let mut api = Api {
        base: server.base(),
        http: http.clone(),
        token: String::new(),
    };
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    api.token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "crash"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "key: {body}");
    let key_id = body["id"].as_str().unwrap().to_owned();
    let secret = body["secret"].as_str().unwrap().to_owned();
    for (slug, path, ordered) in [
        (UNORDERED, "crash/unordered", false),
        (ORDERED, "crash/ordered", true),
    ] {
        let mut d = doc(path, &key_id, steps());
        d["trigger"]["request_response"] = json!(false);
        d["trigger"]["ordered"] = json!(ordered);
        let (status, body) = api
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/integrations/{slug}"),
                Some(d),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{slug}: {body}");
    }

    // Callers: call i goes to the ordered trigger when even, with n = i / 2.
    let total = 2 * CALLS_PER_TRIGGER;
    let next = Arc::new(AtomicUsize::new(0));
    let acked_count = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let refusals: Arc<Mutex<Refusals>> = Arc::default();
    let send_started = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..CALLERS {
        let (next, acked_count, acked, refusals) = (
            Arc::clone(&next),
            Arc::clone(&acked_count),
            Arc::clone(&acked),
            Arc::clone(&refusals),
        );
        let (http, base, secret) = (http.clone(), server.base(), secret.clone());
        callers.spawn(async move {
            let mut order = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let (slug, path) = if i % 2 == 0 {
                    (ORDERED, "crash/ordered")
                } else {
                    (UNORDERED, "crash/unordered")
                };
                let n = i / 2;
                loop {
                    assert!(
                        send_started.elapsed() < SEND_TIMEOUT,
                        "call {n} to {slug} not acknowledged within {SEND_TIMEOUT:?}"
                    );
                    let sent = http
                        .post(format!("{base}/t/{path}"))
                        .header("x-api-key", &secret)
                        .json(&json!({"n": n}))
                        .send()
                        .await;
                    let refused = match sent {
                        Ok(r) if r.status() == StatusCode::ACCEPTED => {
                            match r.json::<Value>().await {
                                Ok(b) => {
                                    let id = b["execution_id"]
                                        .as_str()
                                        .unwrap_or_else(|| panic!("202 without execution_id: {b}"))
                                        .to_owned();
                                    acked.lock().unwrap().push(Acked {
                                        slug,
                                        n,
                                        id,
                                        caller,
                                        order,
                                    });
                                    order += 1;
                                    acked_count.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                // The 202 was cut off: not acknowledged.
                                Err(_) => None,
                            }
                        }
                        Ok(r) => Some(r.status().as_u16()),
                        Err(_) => None,
                    };
                    {
                        let mut r = refusals.lock().unwrap();
                        match refused {
                            Some(s) => *r.statuses.entry(s).or_default() += 1,
                            None => r.connection_errors += 1,
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    }

    // Kill the server while the calls are in flight, then start it again.
    let mut kill_log = Vec::new();
    for k in 1..=KILLS {
        let threshold = total * k / (KILLS + 1);
        while acked_count.load(Ordering::Relaxed) < threshold {
            server.assert_alive();
            if let Some(Err(e)) = callers.try_join_next() {
                std::panic::resume_unwind(e.into_panic());
            }
            assert!(
                send_started.elapsed() < SEND_TIMEOUT,
                "only {} of {total} calls acknowledged after {SEND_TIMEOUT:?}",
                acked_count.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let at = acked_count.load(Ordering::Relaxed);
        server.kill();
        let killed = Instant::now();
        tokio::time::sleep(DOWN_FOR).await;
        server.start(&http).await;
        kill_log.push(format!(
            "kill #{k} after {at} acks at {:?}, back after {:?}",
            send_started.elapsed(),
            killed.elapsed()
        ));
    }
    while let Some(r) = callers.join_next().await {
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let send_time = send_started.elapsed();
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert_eq!(acked.len(), total, "every call is acknowledged in the end");

    // Wait until nothing is queued or running.
    let drain_started = Instant::now();
    loop {
        server.assert_alive();
        if !api.any_with_status("queued").await && !api.any_with_status("running").await {
            break;
        }
        assert!(
            drain_started.elapsed() < DRAIN_TIMEOUT,
            "executions still queued or running after {DRAIN_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drain_time = drain_started.elapsed();
    {
        let refusals = refusals.lock().unwrap();
        println!(
            "{db:?}: {total} calls acknowledged in {send_time:?} ({} connection errors, \
             refusals by status {:?}), drained in {drain_time:?}",
            refusals.connection_errors, refusals.statuses,
        );
    }
    for line in &kill_log {
        println!("{db:?}: {line}");
    }
    for line in server.warnings().iter().take(40) {
        println!("{db:?}: server: {line}");
    }

    // Every acknowledged call: there, succeeded, with its own answer.
    let verify_started = Instant::now();
    let acked = Arc::new(acked);
    let fetched: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let mut checkers = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (acked, fetched, next, api) = (
            Arc::clone(&acked),
            Arc::clone(&fetched),
            Arc::clone(&next),
            api.clone(),
        );
        checkers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(a) = acked.get(i) else { return };
                let (status, e) = api.get(&format!("/api/v1/executions/{}", a.id)).await;
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "acknowledged call n={} to {} (execution {}) is lost: {e}",
                    a.n,
                    a.slug,
                    a.id
                );
                assert_eq!(e["integration"], a.slug, "execution {}: {e}", a.id);
                assert_eq!(
                    e["status"], "succeeded",
                    "acknowledged call n={} to {} (execution {}) did not succeed: {e}",
                    a.n, a.slug, a.id
                );
                assert_eq!(
                    e["response"]["body"]["n"], a.n,
                    "execution {} answers another call: {e}",
                    a.id
                );
                fetched.lock().unwrap().insert(a.id.clone(), e);
            }
        });
    }
    while let Some(r) = checkers.join_next().await {
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let fetched = std::mem::take(&mut *fetched.lock().unwrap());
    assert_eq!(fetched.len(), total);
    let mut retried: BTreeMap<&str, Vec<(String, i64)>> = BTreeMap::new();
    for a in acked.iter() {
        let attempts = fetched[&a.id]["attempts"].as_i64().unwrap();
        assert!(attempts >= 1, "execution {}: attempts {attempts}", a.id);
        if attempts > 1 {
            retried
                .entry(a.slug)
                .or_default()
                .push((a.id.clone(), attempts));
        }
    }

    // Arrival order: a caller's acknowledged ordered calls have increasing sequences.
    let mut last_seq: HashMap<usize, (i64, &str)> = HashMap::new();
    let mut by_caller: Vec<&Acked> = acked.iter().filter(|a| a.slug == ORDERED).collect();
    by_caller.sort_by_key(|a| (a.caller, a.order));
    for a in by_caller {
        let seq = fetched[&a.id]["sequence"]
            .as_i64()
            .unwrap_or_else(|| panic!("ordered execution {} has no sequence", a.id));
        if let Some((prev, prev_id)) = last_seq.get(&a.caller) {
            assert!(
                seq > *prev,
                "execution {} (sequence {seq}) was acknowledged after {prev_id} (sequence {prev})",
                a.id
            );
        }
        last_seq.insert(a.caller, (seq, &a.id));
    }

    // Every execution of both triggers (acknowledged or not) succeeded.
    let acked_ids: HashSet<&str> = acked.iter().map(|a| a.id.as_str()).collect();
    let mut extras = BTreeMap::new();
    let mut lists = HashMap::new();
    for slug in [UNORDERED, ORDERED] {
        let all = api.all_executions(slug).await;
        let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), all.len(), "{slug}: the list repeats executions");
        for e in &all {
            assert_eq!(e["status"], "succeeded", "{slug}: {e}");
            if !acked_ids.contains(e["id"].as_str().unwrap()) {
                let attempts = e["attempts"].as_i64().unwrap();
                if attempts > 1 {
                    retried
                        .entry(slug)
                        .or_default()
                        .push((e["id"].as_str().unwrap().to_owned(), attempts));
                }
            }
        }
        let acked_here = acked.iter().filter(|a| a.slug == slug).count();
        for a in acked.iter().filter(|a| a.slug == slug) {
            assert!(
                ids.contains(a.id.as_str()),
                "{slug}: execution {} is not listed",
                a.id
            );
        }
        extras.insert(slug, all.len() - acked_here);
        lists.insert(slug, all);
    }

    // Ordered: sequences 1..=n, each run after the previous one finished.
    let mut ordered = lists.remove(ORDERED).unwrap();
    ordered.sort_by_key(|e| e["sequence"].as_i64().unwrap());
    for (i, e) in ordered.iter().enumerate() {
        assert_eq!(
            e["sequence"].as_i64().unwrap(),
            i as i64 + 1,
            "ordered sequences are 1..n, unique and without gaps: {e}"
        );
    }
    for pair in ordered.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (a_finished, b_started) = (parse_time(a, "finished_at"), parse_time(b, "started_at"));
        assert!(
            b_started >= a_finished,
            "ordered execution {} (sequence {}) started at {b_started} before {} (sequence {}) finished at {a_finished}",
            b["id"],
            b["sequence"],
            a["id"],
            a["sequence"]
        );
    }
    let verify_time = verify_started.elapsed();

    // At least once: what a kill cuts off runs again. That is what was running (at most
    // `worker.concurrency`), and also what had finished but whose end the journal had not
    // committed yet (ends are written asynchronously, and the slot is free again before), so
    // more than `concurrency` per kill are possible; allow as many again.
    // (An ordered lane records an execution only when it ends, so a lane's run cut off by a
    // kill runs again with `attempts` 1: those re-runs do not show here.)
    let rerun_bound = KILLS * 2 * (WORKER_CONCURRENCY + 1);
    let reruns: usize = retried.values().map(Vec::len).sum();
    println!(
        "{db:?}: verified in {verify_time:?}, total {:?}",
        test_started.elapsed()
    );
    println!(
        "{db:?}: executions without a 202 (committed, answer lost): {extras:?}; \
         run more than once: {} unordered, {} ordered (bound {rerun_bound})",
        retried.get(UNORDERED).map_or(0, Vec::len),
        retried.get(ORDERED).map_or(0, Vec::len),
    );
    assert!(
        reruns <= rerun_bound,
        "{reruns} executions ran more than once (bound {rerun_bound}): {retried:?}"
    );
    server.kill();
}
on_both!(kill_9_loses_no_acknowledged_call);

/// Two instances on one PostgreSQL database take calls for both triggers; one is killed with
/// SIGKILL halfway and not restarted: the other takes over its claimed executions and its
/// ordered lane, and every acknowledged call ends succeeded, the ordered ones in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_of_one_instance_loses_nothing() {
    const CALLS: usize = 1_500;
    let (cfg, dir) = fresh_config(Db::Postgres).await;
    let timings = vec![
        ("FLOWGATE_CLUSTER__HEARTBEAT_MS", "200".to_owned()),
        ("FLOWGATE_CLUSTER__DEAD_AFTER_MS", "1000".to_owned()),
    ];
    let mut a = Server::new(dir.path(), cfg.database_url.clone());
    let mut b = Server::new(dir.path(), cfg.database_url.clone());
    a.env = timings.clone();
    b.env = timings;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    a.start(&http).await;
    b.start(&http).await;
    let mut api = Api {
        base: a.base(),
        http: http.clone(),
        token: String::new(),
    };
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    api.token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "two"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "key: {body}");
    let key_id = body["id"].as_str().unwrap().to_owned();
    let secret = body["secret"].as_str().unwrap().to_owned();
    for (slug, path, ordered) in [
        (UNORDERED, "crash/unordered", false),
        (ORDERED, "crash/ordered", true),
    ] {
        let mut d = doc(path, &key_id, steps());
        d["trigger"]["request_response"] = json!(false);
        d["trigger"]["ordered"] = json!(ordered);
        let (status, body) = api
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/integrations/{slug}"),
                Some(d),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{slug}: {body}");
    }
    // B learns of the key and the integrations.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = http
            .post(format!("{}/t/crash/unordered", b.base()))
            .header("x-api-key", &secret)
            .json(&json!({"n": -1}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::ACCEPTED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instance B never served the trigger"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 16 callers alternate between the instances; a refused call goes to the other one.
    let bases = Arc::new([a.base(), b.base()]);
    let next = Arc::new(AtomicUsize::new(0));
    type Calls = Vec<(String, &'static str, usize)>;
    let acked: Arc<Mutex<Calls>> = Arc::default();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..16usize {
        let (bases, next, acked, http, secret) = (
            Arc::clone(&bases),
            Arc::clone(&next),
            Arc::clone(&acked),
            http.clone(),
            secret.clone(),
        );
        callers.spawn(async move {
            let mut turn = caller;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 2 * CALLS {
                    return;
                }
                let (slug, path) = if i % 2 == 0 {
                    (ORDERED, "crash/ordered")
                } else {
                    (UNORDERED, "crash/unordered")
                };
                let n = i / 2;
                let started = Instant::now();
                loop {
                    turn += 1;
                    let base = &bases[turn % 2];
                    let sent = http
                        .post(format!("{base}/t/{path}"))
                        .header("x-api-key", &secret)
                        .json(&json!({ "n": n }))
                        .send()
                        .await;
                    if let Ok(r) = sent {
                        if r.status() == StatusCode::ACCEPTED {
                            if let Ok(body) = r.json::<Value>().await {
                                if let Some(id) = body["execution_id"].as_str() {
                                    acked.lock().unwrap().push((id.to_owned(), slug, n));
                                    break;
                                }
                            }
                        }
                    }
                    assert!(started.elapsed() < SEND_TIMEOUT, "call {i} never accepted");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    }
    // Kill A when half the calls are in.
    let deadline = Instant::now() + SEND_TIMEOUT;
    while acked.lock().unwrap().len() < CALLS {
        assert!(Instant::now() < deadline, "calls stalled before the kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill();
    while let Some(r) = callers.join_next().await {
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert_eq!(acked.len(), 2 * CALLS);

    // B takes over: everything drains.
    api.base = b.base();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while api.any_with_status("queued").await || api.any_with_status("running").await {
        assert!(
            Instant::now() < deadline,
            "the queue did not drain on B\n{}",
            b.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut by_id: HashMap<String, Value> = HashMap::new();
    for slug in [UNORDERED, ORDERED] {
        for e in api.all_executions(slug).await {
            by_id.insert(e["id"].as_str().unwrap().to_owned(), e);
        }
    }
    for (id, slug, n) in &acked {
        let e = by_id
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged call {slug} n={n} ({id}) is lost"));
        assert_eq!(e["status"], "succeeded", "{slug} n={n}: {e}");
    }
    // Answers of a sample, and strict order of the whole ordered lane.
    for (id, _, n) in acked.iter().step_by(25) {
        let (status, e) = api.get(&format!("/api/v1/executions/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(e["response"]["body"]["n"], *n, "{e}");
    }
    let mut lane: Vec<&Value> = by_id
        .values()
        .filter(|e| e["integration"] == ORDERED)
        .collect();
    lane.sort_by_key(|e| e["sequence"].as_i64());
    for w in lane.windows(2) {
        assert!(w[0]["sequence"].as_i64() < w[1]["sequence"].as_i64());
        assert!(
            parse_time(w[0], "finished_at") <= parse_time(w[1], "started_at"),
            "ordered executions overlap: {} / {}",
            w[0],
            w[1]
        );
    }
    for line in b.warnings().iter().take(10) {
        println!("B: {line}");
    }
    b.kill();
}
