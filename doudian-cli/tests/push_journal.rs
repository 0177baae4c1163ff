//! `doudian push listen --journal`: pushes answered success survive `kill -9` of the
//! listener, and a restart hands each one to the handler (prints it): once, except the
//! record whose line was printed but not yet recorded as handled when the kill came.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use doudian_sdk::push::{sign_push_body, SUCCESS_REPLY};
use doudian_sdk::SignMethod;

const KEY: &str = "7012345678901234567";
const SECRET: &str = "journal-secret";

/// A listener process, killed when dropped (a failing test leaves none behind).
struct Listener(Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `doudian push listen` on a free port with its journal in `dir`; its base URL.
fn listen(dir: &std::path::Path) -> (Listener, String, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doudian"))
        .args(["push", "listen", "--port", "0", "--app-key", KEY, "--app-secret", SECRET, "--journal"])
        .arg(dir)
        .env_remove("DOUDIAN_APP_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, banner) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let url = loop {
        let line = banner.recv_timeout(Duration::from_secs(60)).expect("the listening line");
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            break url.to_owned();
        }
    };
    (Listener(child), url, banner)
}

/// Waits until the journal's ack log stops growing for a while (the handler is stuck).
fn wait_until_acks_settle(acks: &std::path::Path) {
    let size = || std::fs::metadata(acks).map(|m| m.len()).unwrap_or(0);
    let (mut last, mut steady) = (size(), 0);
    for _ in 0..3000 {
        std::thread::sleep(Duration::from_millis(20));
        let now = size();
        steady = if now == last && now > 0 { steady + 1 } else { 0 };
        if steady == 25 {
            return;
        }
        last = now;
    }
    panic!("the listener's acks never settled");
}

/// The msg_id of each line the listener printed.
fn msg_ids(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("a JSON line")["msg_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_10000_events_queued_a_restart_prints_each_and_at_most_the_one_in_hand_twice() {
    let dir = e2e_tests::TempDir::new("push-journal");
    // The first listener's stdout is never read: once the pipe is full its handler blocks,
    // and the pushes it answered pile up in the journal.
    let (mut first, url, _stderr) = listen(dir.path());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (pushes, per_push) = (1_000, 10);
    let mut sent = Vec::new();
    for chunk in (0..pushes).collect::<Vec<_>>().chunks(25) {
        let mut answers = Vec::new();
        for push in chunk {
            let records: Vec<String> = (0..per_push)
                .map(|n| format!(r#"{{"tag":"0","msg_id":"e{}","data":"{{}}"}}"#, push * per_push + n))
                .collect();
            sent.extend((0..per_push).map(|n| format!("e{}", push * per_push + n)));
            let body = format!("[{}]", records.join(","));
            let sign = sign_push_body(KEY, SECRET, body.as_bytes(), SignMethod::Md5);
            let request = http.post(&url).header("app-id", KEY).header("event-sign", sign).body(body);
            answers.push(tokio::spawn(async move {
                let reply = request.send().await.unwrap();
                (reply.status().as_u16(), reply.text().await.unwrap())
            }));
        }
        for answer in answers {
            assert_eq!(answer.await.unwrap(), (200, SUCCESS_REPLY.to_owned()));
        }
    }
    // Killed once its handler is stuck (the acks stop growing), though a busy machine may
    // still catch it between printing a line and recording it: see below.
    wait_until_acks_settle(&dir.path().join("acks.log"));
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    let mut printed_before = String::new();
    first.0.stdout.take().unwrap().read_to_string(&mut printed_before).unwrap();
    let before = msg_ids(&printed_before);
    assert!(before.len() < sent.len() / 2, "the handler was blocked: {} printed", before.len());

    // The restart prints the rest, each once.
    let (mut second, _, _stderr) = listen(dir.path());
    let stdout = second.0.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut after = Vec::new();
    while before.len() + after.len() < sent.len() {
        let line = lines.recv_timeout(Duration::from_secs(120)).expect("the rest within 2 minutes");
        after.extend(msg_ids(&line));
    }
    // The rest of what comes: a handler's output and the ack of its record are two
    // writes, so a kill between them has the restart hand that record out again. With one
    // record at a time (the default), at most the last one the killed process printed.
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        after.extend(msg_ids(&line));
    }
    drop(second);
    let all: Vec<String> = before.iter().chain(&after).cloned().collect();
    let unique: HashSet<&String> = all.iter().collect();
    let twice = all.len() - unique.len();
    assert!(twice <= 1, "{twice} events printed twice");
    if twice == 1 {
        let repeated = after.iter().find(|id| before.contains(id)).unwrap();
        assert_eq!(Some(repeated), before.last(), "only the record in hand at the kill");
    }
    let mut printed: Vec<String> = unique.into_iter().cloned().collect();
    let mut expected = sent.clone();
    printed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(printed, expected, "every event");
    // A push's records keep their order (each record at its first printing).
    let mut position = std::collections::HashMap::new();
    for (index, id) in all.iter().enumerate() {
        position.entry(id).or_insert(index);
    }
    for push in sent.chunks(per_push) {
        assert!(push.windows(2).all(|pair| position[&pair[0]] < position[&pair[1]]), "{push:?}");
    }
}
