//! `cargo xtask test`'s crash-and-race suite: the tools killed (`kill -9`) at seeded random
//! moments of a registration, an apply, a rollout and an approval, each racing another writer
//! of the same thing; after every round the invariants ARCHITECTURE.md promises are checked
//! from the outside: no partial model version, gap-free versions, no temp file left, a valid
//! traffic split, no process without a record, exactly one decision per request.
//!
//! The seed is printed; `AML_CHAOS_SEED=N cargo xtask test` replays a run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::setup::{self, root, step, target_dir};

/// A small seeded generator (xorshift64*): enough to spread kills over a command's life.
struct Dice(u64);

impl Dice {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound.max(1)
    }

    /// A moment within `life`.
    fn moment(&mut self, life: Duration) -> Duration {
        Duration::from_millis(self.below(life.as_millis() as u64 + 1))
    }
}

/// A scratch folder and the tools, run as a user would run them there.
struct Scene {
    dir: PathBuf,
    bin: PathBuf,
}

impl Scene {
    fn new(name: &str) -> Result<Scene, String> {
        let dir = target_dir().join("chaos").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scene { dir, bin: target_dir().join("debug") })
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let mut command = Command::new(self.bin.join(tool));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("AML_CI", "none")
            .env("AML_CACHE_DIR", setup::test_cache())
            .env("PATH", format!("{}:{}", self.bin.display(), setup::path_with_venv()))
            .env_remove("AML_WORKSPACE")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, String> {
        self.command(tool, args).output().map_err(|e| format!("cannot run {tool}: {e}"))
    }

    /// Run and require exit 0; the output's stdout.
    fn ok(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let out = self.run(tool, args)?;
        if !out.status.success() {
            return Err(format!(
                "`{tool} {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, tool: &str, args: &[&str]) -> Result<serde_json::Value, String> {
        let text = self.ok(tool, args)?;
        serde_json::from_str(&text).map_err(|e| format!("`{tool} {}` did not print JSON: {e}", args.join(" ")))
    }

    fn spawn(&self, tool: &str, args: &[&str]) -> Result<Child, String> {
        self.command(tool, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {tool}: {e}"))
    }

    fn workspace(&self) -> PathBuf {
        self.dir.join(".aml")
    }
}

/// Kill `child` at `moment` (if it is still running then); whether it was cut short.
fn kill_at(mut child: Child, moment: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < moment {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let cut = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    cut
}

/// How long a command takes uncut, to spread the kills over its life.
fn timed(scene: &Scene, tool: &str, args: &[&str]) -> Result<Duration, String> {
    let start = Instant::now();
    scene.ok(tool, args)?;
    Ok(start.elapsed())
}

pub fn run() -> Result<(), String> {
    let seed = std::env::var("AML_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    step(&format!("crash-and-race suite (seed {seed}; AML_CHAOS_SEED={seed} replays it)"));
    let mut dice = Dice(seed | 1);
    let started = Instant::now();
    let result = registrations(&mut dice)
        .and_then(|()| endpoints(&mut dice))
        .and_then(|()| approvals(&mut dice))
        .and_then(|()| packages(&mut dice));
    let _ = std::fs::remove_dir_all(target_dir().join("chaos"));
    match result {
        Ok(()) => {
            eprintln!("crash-and-race suite passed in {:.0} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Err(e) => Err(format!("crash-and-race suite (seed {seed}): {e}")),
    }
}

/// Registrations killed at random moments while another process registers too: every
/// version listed downloads whole, versions are 1..n without gaps, and no temp file stays.
fn registrations(dice: &mut Dice) -> Result<(), String> {
    let scene = Scene::new("register")?;
    let big = scene.dir.join("big.bin");
    let mut bytes = vec![0u8; 24 << 20];
    let mut fill = Dice(dice.below(u64::MAX) | 1);
    for chunk in bytes.chunks_mut(8) {
        let word = fill.below(u64::MAX).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    std::fs::write(&big, &bytes).map_err(|e| format!("cannot write {}: {e}", big.display()))?;
    let life = timed(&scene, "aml-register", &["model", "--name", "big", "--path", "big.bin"])?;
    let mut cut = 0;
    for round in 0..8u8 {
        bytes[0] = round;
        std::fs::write(&big, &bytes).map_err(|e| format!("cannot write {}: {e}", big.display()))?;
        std::fs::write(scene.dir.join("small.txt"), format!("round {round}")).map_err(|e| e.to_string())?;
        let racer = scene.spawn("aml-register", &["model", "--name", "small", "--path", "small.txt"])?;
        let victim = scene.spawn("aml-register", &["model", "--name", "big", "--path", "big.bin"])?;
        cut += u32::from(kill_at(victim, dice.moment(life)));
        let raced = racer.wait_with_output().map_err(|e| e.to_string())?;
        if !raced.status.success() {
            return Err(format!(
                "a registration racing a killed one failed: {}",
                String::from_utf8_lossy(&raced.stderr)
            ));
        }
    }
    for name in ["big", "small"] {
        let listed = scene.json("aml-register", &["list", name, "--all", "-o", "json"])?;
        let versions: Vec<String> = listed
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["version"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        for (n, version) in versions.iter().rev().enumerate() {
            if *version != (n + 1).to_string() {
                return Err(format!("the versions of `{name}` have a gap: {versions:?}"));
            }
            let into = format!("check-{name}-{version}");
            scene.ok("aml-register", &["download", &format!("{name}:{version}"), &into])?;
        }
    }
    // What the killed processes left half-written is swept by the next writer.
    scene.ok("aml-register", &["model", "--name", "big", "--path", "big.bin"])?;
    let leftovers = std::fs::read_dir(scene.workspace().join("tmp")).map(|d| d.count()).unwrap_or(0);
    if leftovers > 0 {
        return Err(format!("{leftovers} temp file(s) of killed registrations were not swept"));
    }
    eprintln!(
        "  registrations: {cut} of 8 killed mid-way, each racing another; every version whole, no gap, no temp file"
    );
    Ok(())
}

/// The sessions of live processes marked as serving `endpoint` (`AML_SERVES`), from /proc.
fn serving(workspace: &Path, endpoint: &str) -> BTreeSet<u64> {
    let folder = workspace.join("endpoints").join(endpoint);
    let marks: Vec<Vec<u8>> = [folder.clone(), folder.canonicalize().unwrap_or(folder)]
        .iter()
        .map(|f| format!("AML_SERVES={}", f.display()).into_bytes())
        .collect();
    let mut sessions = BTreeSet::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if !environ.split(|b| *b == 0).any(|var| marks.iter().any(|m| var == m.as_slice())) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        if fields.first().is_some_and(|state| *state != "Z")
            && let Some(session) = fields.get(3).and_then(|s| s.parse().ok())
        {
            sessions.insert(session);
        }
    }
    sessions
}

/// The endpoint as recorded: its split must add up, and the processes serving it must be
/// exactly the recorded router and servers.
fn check_endpoint(scene: &Scene, when: &str) -> Result<(), String> {
    let shown = scene.json("aml-deploy", &["show", "linear", "-o", "json"])?;
    let total: u64 = shown["traffic"].as_object().map(|t| t.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0);
    if total != 100 {
        return Err(format!("{when}: the split does not add up to 100: {}", shown["traffic"]));
    }
    let recorded = recorded_pids(&scene.workspace())?;
    // The router restarts a dead server within a second or two: give it that long.
    let start = Instant::now();
    loop {
        let running = serving(&scene.workspace(), "linear");
        if running == recorded_pids(&scene.workspace())? {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(20) {
            return Err(format!("{when}: processes {running:?} serve the endpoint, the records name {recorded:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The router's and the deployments' pids, read from the registry as an operator would.
fn recorded_pids(workspace: &Path) -> Result<BTreeSet<u64>, String> {
    let script = "import sqlite3,json,sys\ndb=sqlite3.connect(sys.argv[1])\n\
        pids=[json.loads(r)['router_pid'] for (r,) in db.execute('select record from endpoints')]\n\
        pids+=[json.loads(r)['pid'] for (r,) in db.execute('select record from deployments')]\n\
        print(' '.join(str(p) for p in pids if p))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(workspace.join("registry.db"))
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect())
}

/// Applies and rollouts killed at random moments while an operator moves traffic: after each
/// round the split is valid and no process runs without a record; `delete` leaves nothing.
fn endpoints(dice: &mut Dice) -> Result<(), String> {
    let scene = Scene::new("deploy")?;
    copy_tree(&root().join("crates/aml-deploy/tests/fixtures/linear"), &scene.dir.join("linear"))?;
    let outcome = endpoint_rounds(&scene, dice);
    let _ = scene.run("aml-deploy", &["delete", "linear"]);
    let left = serving(&scene.workspace(), "linear");
    outcome?;
    if !left.is_empty() {
        return Err(format!("`aml-deploy delete` left processes running: {left:?}"));
    }
    Ok(())
}

fn endpoint_rounds(scene: &Scene, dice: &mut Dice) -> Result<(), String> {
    scene.ok("aml-deploy", &["apply", "-f", "linear/endpoint.yml"])?;
    scene.ok("aml-deploy", &["apply", "-f", "linear/deployment-blue.yml", "-q"])?;
    let green = ["apply", "-f", "linear/deployment-green.yml", "-q"];
    let apply_life = timed(scene, "aml-deploy", &green)?;
    scene.ok("aml-deploy", &["delete", "linear", "--deployment", "green"])?;
    let (mut applies, mut rollouts) = (0, 0);
    for round in 0..5 {
        let operator = scene.spawn("aml-deploy", &["traffic", "linear", "blue=100"])?;
        let victim = scene.spawn("aml-deploy", &green)?;
        applies += u32::from(kill_at(victim, dice.moment(apply_life)));
        operator.wait_with_output().map_err(|e| e.to_string())?;
        scene.ok("aml-deploy", &green)?;
        check_endpoint(scene, &format!("after killed apply {round}"))?;
        // Gone again, so the next round's apply starts a server rather than finding it.
        if round < 4 {
            scene.ok("aml-deploy", &["delete", "linear", "--deployment", "green"])?;
        }
    }
    let rollout = [
        "rollout",
        "-f",
        "linear/deployment-green.yml",
        "--steps",
        "10,50,100",
        "--interval",
        "200ms",
        "--check",
        "true",
        "-q",
    ];
    scene.ok("aml-deploy", &["traffic", "linear", "blue=100", "green=0"])?;
    let rollout_life = timed(scene, "aml-deploy", &rollout)?;
    for round in 0..5 {
        scene.ok("aml-deploy", &["traffic", "linear", "blue=100", "green=0"])?;
        let victim = scene.spawn("aml-deploy", &rollout)?;
        rollouts += u32::from(kill_at(victim, dice.moment(rollout_life)));
        check_endpoint(scene, &format!("after killed rollout {round}"))?;
        // An interrupted rollout is resumed to its end; a finished one has nothing to resume.
        let resumed = scene.run(
            "aml-deploy",
            &[
                "rollout",
                "-f",
                "linear/deployment-green.yml",
                "--resume",
                "--interval",
                "200ms",
                "--check",
                "true",
                "-q",
            ],
        )?;
        match resumed.status.code() {
            Some(0) | Some(2) => {}
            _ => return Err(format!("resuming a killed rollout failed: {}", String::from_utf8_lossy(&resumed.stderr))),
        }
        check_endpoint(scene, &format!("after resuming rollout {round}"))?;
    }
    eprintln!(
        "  endpoints: {applies} of 5 applies and {rollouts} of 5 rollouts killed mid-way, racing an operator; splits valid, no process without a record"
    );
    Ok(())
}

/// Approvers racing on one request, some killed at random moments: exactly one decision.
fn approvals(dice: &mut Dice) -> Result<(), String> {
    let scene = Scene::new("approve")?;
    std::fs::write(scene.dir.join("model.txt"), "a model").map_err(|e| e.to_string())?;
    scene.ok("aml-register", &["model", "--name", "m", "--path", "model.txt"])?;
    for round in 0..3 {
        let request = scene.json(
            "approval-gate",
            &[
                "request",
                "--model",
                "m:1",
                "--stage",
                &format!("stage{round}"),
                "--approvers",
                "a,b,c,d",
                "--requester",
                "r",
                "-o",
                "json",
            ],
        )?;
        let id = request["id"].as_str().ok_or("a request has no id")?.to_string();
        let racers: Vec<Child> = ["a", "b", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, who)| {
                let verb = if i % 2 == 0 { "approve" } else { "reject" };
                scene.spawn("approval-gate", &[verb, &id, "--by", who])
            })
            .collect::<Result<_, _>>()?;
        for (i, racer) in racers.into_iter().enumerate() {
            if i == 0 {
                kill_at(racer, dice.moment(Duration::from_millis(80)));
            } else {
                racer.wait_with_output().map_err(|e| e.to_string())?;
            }
        }
        let history = scene.json("approval-gate", &["history", "m:1", "-o", "json"])?;
        let decisions = history
            .as_array()
            .map(|entries| {
                entries.iter().filter(|e| e["request"] == id.as_str() && e["kind"] != "approval-requested").count()
            })
            .unwrap_or(0);
        let listed = scene.json("approval-gate", &["list", "-o", "json"])?;
        let state = listed
            .as_array()
            .and_then(|requests| requests.iter().find(|r| r["id"] == id.as_str()))
            .and_then(|r| r["state"].as_str())
            .unwrap_or_default()
            .to_string();
        if !matches!(state.as_str(), "approved" | "rejected") || decisions != 1 {
            return Err(format!("racing approvers on {id}: state `{state}`, {decisions} decisions recorded"));
        }
    }
    eprintln!("  approvals: 3 requests, 4 racing deciders each (one killed at a random moment); one decision each");
    Ok(())
}

/// Image builds killed at random moments: the next build of the same inputs succeeds with the
/// same digest (reproducible, nothing half-written taken for whole), and no temp blob stays.
fn packages(dice: &mut Dice) -> Result<(), String> {
    let scene = Scene::new("package")?;
    copy_tree(&root().join("crates/aml-deploy/tests/fixtures/linear"), &scene.dir.join("linear"))?;
    scene.ok("aml-register", &["model", "--name", "linear", "--path", "linear/model"])?;
    let base = setup::test_cache().join("base").join("bookworm-python3.tar");
    scene.ok("aml-package", &["base", "--rootfs-tar", &base.display().to_string(), "--to", "oci:base:bookworm"])?;
    let build = |to: &str| -> Vec<String> {
        ["image", "--model", "linear:1", "--environment", "linear/environment/serve.yml", "--code", "linear/src"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--base".into(), "oci:base:bookworm".into(), "--to".into(), to.into(), "-q".into()])
            .chain(["-o".into(), "json".into()])
            .collect()
    };
    let digest = |args: &[String]| -> Result<String, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let image = scene.json("aml-package", &args)?;
        Ok(image["digest"].as_str().unwrap_or_default().to_string())
    };
    let start = Instant::now();
    let reference = digest(&build("oci:first:1"))?;
    let life = start.elapsed();
    let mut cut = 0;
    for round in 0..3 {
        let to = format!("oci:img{round}:1");
        let args = build(&to);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cut += u32::from(kill_at(scene.spawn("aml-package", &args)?, dice.moment(life)));
        let again = digest(&build(&to))?;
        if again != reference {
            return Err(format!("after a killed build, the image is {again}, not {reference}"));
        }
    }
    let mut temps = Vec::new();
    for layout in std::fs::read_dir(&scene.dir).map_err(|e| e.to_string())?.flatten() {
        let blobs = layout.path().join("blobs");
        for entry in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(".tmp") {
                temps.push(entry.path());
            }
        }
    }
    if !temps.is_empty() {
        return Err(format!("killed builds left temp blobs: {temps:?}"));
    }
    eprintln!("  packages: {cut} of 3 image builds killed mid-way; each rebuilt to the same digest, no temp blob left");
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}
