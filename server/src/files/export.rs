//! `flowgate export DIR`: a server's integrations and the credentials they name, as files.

use std::path::Path;

use anyhow::Context;
use flowgate_api::subscriptions::SubscriptionOut;
use flowgate_api::IntegrationOut;

use super::client::Api;
use super::format::{
    integration_slug, to_yaml, ClientEntry, IntegrationFile, KeyEntry, SecretEntry,
    SubscriptionEntry, CLIENTS_FILE, INTEGRATIONS_DIR, KEYS_FILE, SECRETS_FILE, SUBSCRIPTIONS_FILE,
};
use super::log::Log;
use super::refs::Credentials;

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exported {
    pub integrations: usize,
    /// Never-published integrations (only a draft): not written.
    pub skipped_drafts: usize,
    /// Files of `integrations/` removed because no such integration exists any more.
    pub removed: usize,
}

/// Writes every published integration to `dir/integrations/<slug>.yaml` and the keys, OAuth
/// clients, stored secrets and subscriptions to their files (never a secret). A re-export of
/// an unchanged server writes the same bytes.
pub async fn export(api: &Api, dir: &Path, log: &mut Log) -> anyhow::Result<Exported> {
    let creds = Credentials::fetch(api).await?;
    let mut integrations: Vec<IntegrationOut> = api.list("/api/v1/integrations").await?;
    integrations.sort_by(|a, b| a.slug.cmp(&b.slug));
    let subscriptions: Vec<SubscriptionOut> = api.list("/api/v1/subscriptions").await?;

    let folder = dir.join(INTEGRATIONS_DIR);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let mut done = Exported::default();
    let mut written = Vec::new();
    for out in &integrations {
        if out.version == 0 {
            log.warn(format!(
                "skipped {}: never published (only a draft); publish it to export it",
                out.slug
            ));
            done.skipped_drafts += 1;
            continue;
        }
        if out.has_draft {
            log.warn(format!(
                "note: {} has an unpublished draft; exported its published version {}",
                out.slug, out.version
            ));
        }
        let file = IntegrationFile::from_out(out, |kind, id| match creds.label_of(kind, id) {
            Ok(label) => {
                if creds.count_label(kind, &label) > 1 {
                    log.warn(format!(
                        "warning: {}: {} `{label}` shares its label with another; apply refuses ambiguous labels",
                        out.slug,
                        kind.what()
                    ));
                }
                label
            }
            Err(raw) => {
                log.warn(format!(
                    "warning: {}: the trigger names {} {id}, which is not live; written as `{raw}`",
                    out.slug,
                    kind.what()
                ));
                raw
            }
        });
        let name = format!("{INTEGRATIONS_DIR}/{}.yaml", out.slug);
        write(dir, &name, &to_yaml(&file)?, log)?;
        written.push(format!("{}.yaml", out.slug));
        done.integrations += 1;
    }
    done.removed = remove_stale(&folder, &written, log)?;

    let mut keys: Vec<KeyEntry> = creds
        .keys
        .iter()
        .map(|k| KeyEntry {
            label: k.label.clone(),
            expires_at: k.expires_at.clone(),
            rate_limit: k.rate_limit.map(Into::into),
        })
        .collect();
    keys.sort();
    write(dir, KEYS_FILE, &to_yaml(&keys)?, log)?;

    let mut clients: Vec<ClientEntry> = creds
        .clients
        .iter()
        .map(|c| {
            let mut scopes = c.scopes.clone();
            scopes.sort();
            ClientEntry {
                label: c.label.clone(),
                scopes,
                rate_limit: c.rate_limit.map(Into::into),
            }
        })
        .collect();
    clients.sort();
    write(dir, CLIENTS_FILE, &to_yaml(&clients)?, log)?;

    let mut secrets: Vec<SecretEntry> = creds
        .secrets
        .iter()
        .map(|s| {
            let mut hosts = s.hosts.clone();
            hosts.sort();
            SecretEntry {
                name: s.name.clone(),
                hosts,
            }
        })
        .collect();
    secrets.sort();
    write(dir, SECRETS_FILE, &to_yaml(&secrets)?, log)?;

    let mut subs: Vec<SubscriptionEntry> = subscriptions.iter().map(subscription_entry).collect();
    subs.sort_by(|a, b| {
        (&a.url, &a.description, &a.event_types).cmp(&(&b.url, &b.description, &b.event_types))
    });
    write(dir, SUBSCRIPTIONS_FILE, &to_yaml(&subs)?, log)?;

    log.say(format!(
        "exported {} integrations, {} keys, {} OAuth clients, {} stored secrets, {} subscriptions from {} to {}",
        done.integrations,
        keys.len(),
        clients.len(),
        secrets.len(),
        subs.len(),
        api.base(),
        dir.display()
    ));
    Ok(done)
}

/// A subscription's entry: header values stay `[redacted]` as the API shows them.
pub fn subscription_entry(s: &SubscriptionOut) -> SubscriptionEntry {
    let mut e = SubscriptionEntry {
        url: s.url.clone(),
        description: s.description.clone(),
        event_types: s.event_types.clone(),
        enabled: s.enabled,
        headers: s.headers.clone(),
        rate_limit: s.rate_limit,
        ordered: s.ordered,
    };
    e.normalise();
    e
}

/// Writes a file (its folder exists), saying so when its content changed.
fn write(dir: &Path, name: &str, text: &str, log: &mut Log) -> anyhow::Result<()> {
    let path = dir.join(name);
    let same = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
    if !same {
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        log.say(format!("wrote {name}"));
    }
    Ok(())
}

/// Removes integration files (`*.yaml`, `*.yml`, `*.json`) not written by this export.
fn remove_stale(folder: &Path, written: &[String], log: &mut Log) -> anyhow::Result<usize> {
    let mut removed = 0;
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))?;
    let mut stale = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if integration_slug(&name).is_some() && !written.contains(&name) {
            stale.push((name, entry.path()));
        }
    }
    stale.sort();
    for (name, path) in stale {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        log.say(format!(
            "removed {INTEGRATIONS_DIR}/{name} (no such published integration)"
        ));
        removed += 1;
    }
    Ok(removed)
}
