//! `driver: locust` at the plan stage: the program is found, Locust (with soy's hook beside
//! the user's files) loads the locustfile, every `user_classes` entry is a class it defines
//! and every option a flag it knows. Locust's own message, with the file and line it names,
//! becomes a diagnostic at `load.locust.file`.

use std::path::PathBuf;

use serde::Serialize;

use crate::load::locust::check::{self, CheckError, INSTALL};
use crate::load::locust::command::HOOK;
use crate::load::locust::swarm::SwarmSetup;
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::model::{Driver, Experiment};
use crate::manifest::pointer::Pointer;
use crate::manifest::semantic::Checker;
use crate::manifest::semantic::locust::files;
use crate::process::find_program;

/// What the plan resolved of `locust:`.
#[derive(Debug, Clone, Serialize)]
pub struct LocustPlan {
    /// The program, resolved.
    pub command: PathBuf,
    pub version: String,
    /// The locustfiles, absolute.
    pub files: Vec<PathBuf>,
    /// The `LoadTestShape` file, absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape_file: Option<PathBuf>,
    pub user_classes: Vec<String>,
    /// The `User` classes the files define.
    pub classes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether soy writes a `LoadTestShape` for the manifest's `shape:`.
    pub generated_shape: bool,
    /// A master and workers on the swarm (`locust.workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmSetup>,
}

impl LocustPlan {
    /// The Locust run this plan describes, for `load` as the plan resolved it.
    pub fn run(
        &self,
        load: &super::LoadPlan,
        l: &crate::manifest::model::Load,
        workdir: &std::path::Path,
    ) -> crate::load::locust::LocustRun {
        let run_time = load.run_time.0;
        crate::load::locust::LocustRun {
            command: self.command.clone(),
            files: self.files.clone(),
            shape_file: self.shape_file.clone(),
            user_classes: self.user_classes.clone(),
            processes: self.processes,
            options: self.options.clone(),
            host: load.host.clone(),
            users: l.users,
            spawn_rate: l.spawn_rate,
            run_time: (!run_time.is_zero()).then_some(run_time),
            segments: if self.generated_shape {
                load.segments.clone()
            } else {
                Vec::new()
            },
            shaped: self.generated_shape
                || l.locust.as_ref().is_some_and(|s| s.shape_file.is_some()),
            warmup: l.warmup.0,
            metrics_port: l.metrics_port,
            workdir: std::path::absolute(workdir).unwrap_or_else(|_| workdir.to_path_buf()),
            swarm: self.swarm.clone(),
        }
    }
}

pub(super) fn check(
    c: &mut Checker<'_>,
    exp: &Experiment,
    stack: Option<&super::SwarmPlan>,
) -> Option<LocustPlan> {
    let l = &exp.load;
    if l.driver != Driver::Locust {
        return None;
    }
    let s = l.locust.as_ref()?;
    let base = Pointer::root().key("load").key("locust");
    // Absolute: Locust runs in the manifest's folder, whatever soy's own.
    let dir = std::path::absolute(c.dir()).unwrap_or_else(|_| c.dir().to_path_buf());
    let paths: Vec<PathBuf> = files(&s.file).iter().map(|f| dir.join(f)).collect();
    let shape_file = s.shape_file.as_ref().map(|f| dir.join(f));
    if paths.iter().chain(&shape_file).any(|p| !p.exists()) {
        // The manifest's own check has said which.
        return None;
    }
    let program = if s.command.contains('/') {
        dir.join(&s.command)
    } else {
        PathBuf::from(&s.command)
    };
    let command = match find_program(&program) {
        Ok(p) => p,
        Err(why) => {
            c.value(
                &base.key("command"),
                format!("Locust is not installed: {why}"),
            )
            .help = Some(format!(
                "install it with `{INSTALL}`, or set `locust.command`"
            ));
            return None;
        }
    };
    // soy's hook goes beside the files, as at run time: a Locust it does not load with is
    // refused now, not after deploy.
    let hook = match check::write_hook(HOOK) {
        Ok(h) => h,
        Err(e) => {
            c.value(
                &base.key("file"),
                format!(
                    "cannot ask Locust about the locustfile: {}",
                    crate::error::flatten(&e)
                ),
            );
            return None;
        }
    };
    // In the order of the run: the locustfiles, the hook, the shape.
    let mut asked = paths.clone();
    asked.push(hook.path().to_path_buf());
    asked.extend(shape_file.clone());
    let answer = check::inspect(&command, &asked, &dir);
    let found = match answer {
        Ok(i) => i,
        Err(e @ CheckError::Load { .. }) => {
            c.value(
                &base.key("file"),
                format!("Locust cannot load the locustfile: {e}"),
            );
            return None;
        }
        Err(e) => {
            c.value(&base.key("command"), crate::error::flatten(&e));
            return None;
        }
    };
    for (i, u) in s.user_classes.iter().enumerate() {
        if !found.classes.contains(u) {
            let d = c.value(
                &base.key("user_classes").index(i),
                format!(
                    "the locustfile defines no User class `{u}` (it has {})",
                    found.classes.join(", ")
                ),
            );
            if let Some(m) = did_you_mean(u, found.classes.iter().map(String::as_str)) {
                d.help = Some(format!("did you mean `{m}`?"));
            }
        }
    }
    for (i, o) in s.options.iter().enumerate() {
        let flag = o.split_once('=').map_or(o.as_str(), |(f, _)| f);
        if flag.starts_with('-') && !found.flags.iter().any(|f| f == flag) {
            let d = c.value(
                &base.key("options").index(i),
                format!("Locust {} has no flag `{flag}`", found.version),
            );
            if let Some(m) = did_you_mean(flag, found.flags.iter().map(String::as_str)) {
                d.help = Some(format!("did you mean `{m}`?"));
            }
        }
    }
    if s.processes.is_some() && !found.flags.iter().any(|f| f == "--processes") {
        c.value(
            &base.key("processes"),
            format!("Locust {} has no `--processes`", found.version),
        )
        .help = Some(
            "upgrade Locust (`python3 -m pip install -U locust`), or remove `processes`".into(),
        );
    }
    let swarm = match (s.workers, stack) {
        (Some(workers), Some(plan)) => {
            placement(c, exp, plan, "with `locust.workers`, Locust's workers").map(
                |(target, network)| SwarmSetup {
                    stack: plan.spec.stack.clone(),
                    workers,
                    image: s.image.clone(),
                    network,
                    target,
                },
            )
        }
        _ => None,
    };
    let generated_shape = s.shape_file.is_none()
        && !matches!(&l.shape, crate::manifest::model::Shape::Constant(k) if k.target.is_none());
    Some(LocustPlan {
        command,
        version: found.version,
        files: paths,
        shape_file,
        user_classes: s.user_classes.clone(),
        classes: found.classes,
        processes: s.processes,
        options: s.options.clone(),
        generated_shape,
        swarm,
    })
}

/// The service `load.host` names in the swarm stack, and the network the load's workers
/// join to reach it: with workers on the swarm, the load stays inside the stack's network.
/// `who` starts the message ("with `locust.workers`, Locust's workers").
pub(super) fn placement(
    c: &mut Checker<'_>,
    exp: &Experiment,
    plan: &super::SwarmPlan,
    who: &str,
) -> Option<(String, String)> {
    let at = Pointer::root().key("load").key("host");
    let host = exp.load.host.as_deref().unwrap_or_default();
    if host.contains("{{") {
        // Rendered later; its service is then not checked here.
        return None;
    }
    let name = host_name(host);
    let mut names = Vec::new();
    for svc in &plan.spec.services {
        let Some(first) = svc.pointer("/TaskTemplate/Networks/0") else {
            continue;
        };
        let full = svc["Name"].as_str().unwrap_or_default();
        let aliases: Vec<&str> = first["Aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        let short = aliases.first().copied().unwrap_or(full);
        if name == full || aliases.contains(&name) {
            let net = first["Target"].as_str().unwrap_or_default();
            return Some((short.to_string(), net.to_string()));
        }
        names.push(short.to_string());
    }
    let d = c.value(
        &at,
        format!(
            "{who} send the load inside the stack's network, so `load.host` must name one of its services ({}), not `{name}`",
            names.join(", ")
        ),
    );
    d.help = Some(match did_you_mean(name, names.iter().map(String::as_str)) {
        Some(m) => format!("did you mean `{m}`? e.g. `http://{m}:<its container port>`"),
        None => "e.g. `http://gateway:8080`: the service's name and its container port".into(),
    });
    None
}

/// The host of an `http://host:port/path` URL.
fn host_name(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// `load.distributed` on the swarm: the target service and its network (the manifest's own
/// check has said what is wrong with the settings themselves).
pub(super) fn distributed(
    c: &mut Checker<'_>,
    exp: &Experiment,
    stack: Option<&super::SwarmPlan>,
) -> Option<crate::load::distributed::swarm::SwarmSetup> {
    let d = exp.load.distributed.as_ref()?;
    let plan = stack?;
    let (target, network) = placement(c, exp, plan, "with `load.distributed`, soy's workers")?;
    Some(crate::load::distributed::swarm::SwarmSetup::new(
        d,
        &plan.spec.stack,
        target,
        network,
    ))
}
