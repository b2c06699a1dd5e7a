//! `flowgate apply DIR [--dry-run]`: makes a server's integrations and subscriptions match
//! the files, through its admin API. Everything is checked first (files, credentials by
//! label, the server's validation of each changed document); with any problem nothing is
//! applied. Nothing absent from the directory is ever deleted.

use std::collections::BTreeMap;
use std::path::Path;

use flowgate_api::subscriptions::{SubscriptionOut, SubscriptionPatch};
use flowgate_api::{IntegrationDoc, IntegrationOut, IntegrationPatch, ValidateOut};
use reqwest::Method;

use super::client::{Api, ApiError};
use super::format::{
    diff, integration_files, parse, read_optional, to_yaml, ClientEntry, Cred, IntegrationFile,
    KeyEntry, RateLimitEntry, SecretEntry, SubscriptionEntry, CLIENTS_FILE, KEYS_FILE,
    SECRETS_FILE, SUBSCRIPTIONS_FILE,
};
use super::log::Log;
use super::refs::Credentials;
use super::subs::{self, SubChange};

/// What an apply (or a dry run) found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub dry_run: bool,
    /// Problems found before anything was applied (then nothing was), and calls that failed.
    pub problems: usize,
    /// Creations and updates planned (a dry run) or made.
    pub changes: usize,
    pub unchanged: usize,
}

impl Applied {
    /// 0: done (or nothing to do); 1: problems; 2: a dry run that found changes to make.
    pub fn exit_code(&self) -> i32 {
        if self.problems > 0 {
            1
        } else if self.dry_run && self.changes > 0 {
            2
        } else {
            0
        }
    }
}

/// How an integration is brought in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `PUT`: a new integration, version 1.
    Create,
    /// `PUT`: a new version.
    Update,
    /// `PATCH {"enabled"}`: only the switch differs; no new version.
    Switch(bool),
}

struct Change {
    file: String,
    slug: String,
    doc: IntegrationDoc,
    action: Action,
}

/// Plans, then (unless `dry_run`, and only when the plan has no problem) applies.
pub async fn apply(api: &Api, dir: &Path, dry_run: bool, log: &mut Log) -> anyhow::Result<Applied> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let mut problems: Vec<String> = Vec::new();
    let creds = Credentials::fetch(api).await?;
    let target: Vec<IntegrationOut> = api.list("/api/v1/integrations").await?;
    let target_subs: Vec<SubscriptionOut> = api.list("/api/v1/subscriptions").await?;

    check_credentials(dir, &creds, &mut problems, log);

    // Integrations.
    let mut files: Vec<(String, IntegrationFile)> = Vec::new();
    for (name, stem, text) in integration_files(dir)? {
        match parse::<IntegrationFile>(&name, &text) {
            Ok(mut f) => {
                if f.slug != stem {
                    problems.push(format!(
                        "{name}: slug: is `{}`, but the file name says `{stem}`",
                        f.slug
                    ));
                    continue;
                }
                if !crate::domain::integrations::valid_slug(&f.slug) {
                    problems.push(format!(
                        "{name}: slug: use 1 to 64 lower-case letters, digits, - and _ (`validate` is reserved)"
                    ));
                    continue;
                }
                if let Some((other, _)) = files.iter().find(|(_, g)| g.slug == f.slug) {
                    problems.push(format!("{name}: slug `{}` is also in {other}", f.slug));
                    continue;
                }
                f.normalise();
                files.push((name, f));
            }
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut unchanged = 0;
    for (name, file) in &files {
        let current = target.iter().find(|i| i.slug == file.slug);
        let mut refs_ok = true;
        for (kind, list, at) in [
            (Cred::Key, file.trigger.auth.keys(), "keys"),
            (Cred::Client, file.trigger.auth.clients(), "clients"),
        ] {
            for (i, label) in list.iter().enumerate() {
                if let Err(why) = creds.id_of(kind, label) {
                    problems.push(format!("{name}: trigger.auth.{at}[{i}]: {why}"));
                    refs_ok = false;
                }
            }
        }
        let mut secrets: Vec<(String, String)> =
            flows_runtime::model::referenced_secrets_of_flow(&file.steps, &file.on_error)
                .into_iter()
                .map(|r| (r.path, r.name))
                .collect();
        if let Some(s) = file.trigger.auth.signing_secret() {
            secrets.push(("trigger.auth.secret".to_owned(), s.to_owned()));
        }
        for (path, secret) in secrets {
            if !creds.has_secret(&secret) {
                problems.push(format!(
                    "{name}: {path}: no stored secret named `{secret}` in the target (apply does not create secrets: create it there first)"
                ));
                refs_ok = false;
            }
        }
        let doc = file.to_doc(|kind, label| {
            creds
                .id_of(kind, label)
                .unwrap_or_else(|_| label.to_owned())
        });
        let now = current.map(|c| {
            IntegrationFile::from_out(c, |kind, id| {
                creds.label_of(kind, id).unwrap_or_else(|raw| raw)
            })
        });
        let new_text = to_yaml(file)?;
        let old_text = match &now {
            Some(n) => to_yaml(n)?,
            None => String::new(),
        };
        if old_text == new_text {
            unchanged += 1;
            log.say(format!("unchanged {}", file.slug));
            continue;
        }
        let action = match (current, &now) {
            (None, _) => Action::Create,
            (Some(c), Some(n)) if c.version > 0 && n.enabled != file.enabled => {
                let mut flipped = n.clone();
                flipped.enabled = file.enabled;
                if to_yaml(&flipped)? == new_text {
                    Action::Switch(file.enabled)
                } else {
                    Action::Update
                }
            }
            _ => Action::Update,
        };
        let from = match current {
            Some(c) if c.version == 0 => format!("{} (target: never published)", file.slug),
            Some(c) => format!("{} (target, version {})", file.slug, c.version),
            None => format!("{} (not in the target)", file.slug),
        };
        let (verb, suffix) = match action {
            Action::Create => ("create", ""),
            Action::Update => ("update", ""),
            Action::Switch(true) => ("enable", " (no new version)"),
            Action::Switch(false) => ("disable", " (no new version)"),
        };
        log.say(format!(
            "{verb} {}{suffix}\n{}",
            file.slug,
            diff(&old_text, &new_text, &from, name)
        ));
        if action == Action::Update && current.is_some_and(|c| c.has_draft) {
            log.warn(format!(
                "note: {} has an unpublished draft in the target; applying publishes the file and discards that draft",
                file.slug
            ));
        }
        if refs_ok {
            let checked: Result<ValidateOut, ApiError> = api
                .call(Method::POST, "/api/v1/integrations/validate", Some(&doc))
                .await?;
            match checked {
                Ok(v) => {
                    for d in v.problems {
                        problems.push(format!("{name}: {}: {}", d.path, d.message));
                    }
                }
                Err(e) => problems.push(format!("{name}: the server refused to validate it: {e}")),
            }
        }
        changes.push(Change {
            file: name.clone(),
            slug: file.slug.clone(),
            doc,
            action,
        });
    }
    path_conflicts(&files, &target, &mut problems);
    for t in &target {
        if !files.iter().any(|(_, f)| f.slug == t.slug) && !files.is_empty() {
            log.warn(format!(
                "note: integration {} of the target has no file; left as it is (apply never deletes)",
                t.slug
            ));
        }
    }

    // Subscriptions.
    let sub_plan = match read_optional::<Vec<SubscriptionEntry>>(dir, SUBSCRIPTIONS_FILE) {
        Ok(Some(entries)) => Some(subs::plan(&entries, &target_subs)),
        Ok(None) => None,
        Err(e) => {
            problems.push(format!("{e:#}"));
            None
        }
    };
    let mut sub_changes = Vec::new();
    if let Some(p) = sub_plan {
        for line in p.said {
            log.say(line);
        }
        for n in p.notes {
            log.warn(n);
        }
        problems.extend(p.problems);
        unchanged += p.unchanged;
        sub_changes = p.changes;
    }

    let mut out = Applied {
        dry_run,
        problems: problems.len(),
        changes: changes.len() + sub_changes.len(),
        unchanged,
    };
    for p in &problems {
        log.warn(format!("error: {p}"));
    }
    if dry_run || !problems.is_empty() {
        let what = if dry_run {
            "dry run"
        } else {
            "nothing applied"
        };
        log.say(format!(
            "{what}: {} to change, {} unchanged, {} problems{}",
            out.changes,
            out.unchanged,
            out.problems,
            if !dry_run {
                " (fix them and apply again)"
            } else {
                ""
            }
        ));
        return Ok(out);
    }

    let mut failed = 0;
    for c in &changes {
        if !run_integration(api, c, log).await? {
            failed += 1;
        }
    }
    for c in &sub_changes {
        if !run_subscription(api, c, log).await? {
            failed += 1;
        }
    }
    out.problems = failed;
    log.say(format!(
        "applied: {} changed, {} unchanged, {failed} failed",
        out.changes - failed,
        out.unchanged
    ));
    Ok(out)
}

/// `keys.yaml`, `oauth-clients.yaml`, `secrets.yaml`: each entry must exist in the target.
/// Differences in their settings are notes (apply never changes credentials).
fn check_credentials(dir: &Path, creds: &Credentials, problems: &mut Vec<String>, log: &mut Log) {
    let missing = |what: &str, name: &str| {
        format!("no {what} `{name}` in the target (apply does not create credentials: create it there first)")
    };
    match read_optional::<Vec<KeyEntry>>(dir, KEYS_FILE) {
        Ok(Some(keys)) => {
            for k in keys {
                let found: Vec<_> = creds.keys.iter().filter(|t| t.label == k.label).collect();
                if found.is_empty() {
                    problems.push(format!(
                        "{KEYS_FILE}: {}",
                        missing("API key labelled", &k.label)
                    ));
                } else if !found.iter().any(|t| {
                    t.expires_at == k.expires_at
                        && t.rate_limit.map(RateLimitEntry::from) == k.rate_limit
                }) {
                    log.warn(format!(
                        "note: {KEYS_FILE}: API key `{}` has another expiry or rate limit in the target (not changed)",
                        k.label
                    ));
                }
            }
        }
        Ok(None) => {}
        Err(e) => problems.push(format!("{e:#}")),
    }
    match read_optional::<Vec<ClientEntry>>(dir, CLIENTS_FILE) {
        Ok(Some(clients)) => {
            for c in clients {
                let found: Vec<_> = creds
                    .clients
                    .iter()
                    .filter(|t| t.label == c.label)
                    .collect();
                let mut scopes = c.scopes.clone();
                scopes.sort();
                if found.is_empty() {
                    problems.push(format!(
                        "{CLIENTS_FILE}: {}",
                        missing("OAuth client labelled", &c.label)
                    ));
                } else if !found.iter().any(|t| {
                    let mut s = t.scopes.clone();
                    s.sort();
                    s == scopes && t.rate_limit.map(RateLimitEntry::from) == c.rate_limit
                }) {
                    log.warn(format!(
                        "note: {CLIENTS_FILE}: OAuth client `{}` has other scopes or another rate limit in the target (not changed)",
                        c.label
                    ));
                }
            }
        }
        Ok(None) => {}
        Err(e) => problems.push(format!("{e:#}")),
    }
    match read_optional::<Vec<SecretEntry>>(dir, SECRETS_FILE) {
        Ok(Some(secrets)) => {
            for s in secrets {
                match creds.secrets.iter().find(|t| t.name == s.name) {
                    None => problems.push(format!(
                        "{SECRETS_FILE}: no stored secret named `{}` in the target (apply does not create secrets: create it there first)",
                        s.name
                    )),
                    Some(t) => {
                        let mut hosts = t.hosts.clone();
                        hosts.sort();
                        let mut want = s.hosts.clone();
                        want.sort();
                        if hosts != want {
                            log.warn(format!(
                                "note: {SECRETS_FILE}: stored secret `{}` is bound to other hosts in the target ({}) (not changed)",
                                s.name,
                                if hosts.is_empty() { "any".to_owned() } else { hosts.join(", ") }
                            ));
                        }
                    }
                }
            }
        }
        Ok(None) => {}
        Err(e) => problems.push(format!("{e:#}")),
    }
}

/// Two files with one trigger path, or a file taking the path of an integration of the
/// target that keeps it.
fn path_conflicts(
    files: &[(String, IntegrationFile)],
    target: &[IntegrationOut],
    problems: &mut Vec<String>,
) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, f) in files {
        let path = f.trigger.path.as_str();
        if let Some(other) = seen.insert(path, name) {
            problems.push(format!(
                "{name}: trigger.path: `{path}` is also the path of {other}"
            ));
        }
        for t in target.iter().filter(|t| t.slug != f.slug) {
            let theirs = t.trigger.path.trim().trim_start_matches('/');
            let moves_away = files
                .iter()
                .any(|(_, g)| g.slug == t.slug && g.trigger.path != path);
            if theirs == path && !moves_away {
                problems.push(format!(
                    "{name}: trigger.path: `{path}` is used by integration {} in the target",
                    t.slug
                ));
            }
        }
    }
}

/// Prints an API error with each of its field problems.
fn refused(log: &mut Log, what: &str, e: &ApiError) {
    let mut text = format!("error: {what}: {} ({})", e.message, e.code);
    for d in &e.details {
        text.push_str(&format!("\n  {what}: {}: {}", d.path, d.message));
    }
    log.warn(text);
}

/// Applies one integration change; false when the server refused it.
async fn run_integration(api: &Api, c: &Change, log: &mut Log) -> anyhow::Result<bool> {
    let path = format!("/api/v1/integrations/{}", c.slug);
    let result: Result<IntegrationOut, ApiError> = match c.action {
        Action::Create | Action::Update => api.call(Method::PUT, &path, Some(&c.doc)).await?,
        Action::Switch(on) => {
            api.call(
                Method::PATCH,
                &path,
                Some(&IntegrationPatch { enabled: Some(on) }),
            )
            .await?
        }
    };
    match result {
        Ok(out) => {
            let verb = match c.action {
                Action::Create => "created",
                Action::Update => "updated",
                Action::Switch(true) => "enabled",
                Action::Switch(false) => "disabled",
            };
            log.say(format!("{verb} {} (version {})", c.slug, out.version));
            Ok(true)
        }
        Err(e) => {
            refused(log, &c.file, &e);
            Ok(false)
        }
    }
}

/// Applies one subscription change; false when the server refused it. A new subscription's
/// signing secret is never printed: rotate it in the target to get one to hand over.
async fn run_subscription(api: &Api, c: &SubChange, log: &mut Log) -> anyhow::Result<bool> {
    let (name, result): (&str, Result<SubscriptionOut, ApiError>) = match c {
        SubChange::Create { name, input } => (
            name,
            api.call(Method::POST, "/api/v1/subscriptions", Some(input))
                .await?,
        ),
        SubChange::Update { name, id, patch } => (
            name,
            api.call::<_, SubscriptionPatch>(
                Method::PATCH,
                &format!("/api/v1/subscriptions/{id}"),
                Some(patch),
            )
            .await?,
        ),
    };
    match (c, result) {
        (SubChange::Create { .. }, Ok(out)) => {
            log.say(format!(
                "created subscription {name} (id {}; its signing secret is new: get one with POST /api/v1/subscriptions/{}/rotate-secret)",
                out.id, out.id
            ));
            Ok(true)
        }
        (SubChange::Update { .. }, Ok(_)) => {
            log.say(format!("updated subscription {name}"));
            Ok(true)
        }
        (_, Err(e)) => {
            refused(log, &format!("{SUBSCRIPTIONS_FILE}: {name}"), &e);
            Ok(false)
        }
    }
}
