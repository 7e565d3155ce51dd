//! Just enough of a Compose file to plan a swarm stack: its services and their replicas.
//! (Deploying it is the swarm driver's job.)

use serde_json::Value;

/// A service declared in a Compose file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComposeService {
    pub name: String,
    /// `deploy.replicas` (1 when absent); `None` for `deploy.mode: global`.
    pub replicas: Option<u32>,
    pub image: Option<String>,
}

/// Reads the services of a Compose document.
pub fn services(text: &str) -> Result<Vec<ComposeService>, String> {
    let (doc, _) = crate::manifest::yaml::parse(text)
        .map_err(|e| format!("line {}: {}", e.pos.line, e.message))?;
    let services = doc
        .get("services")
        .and_then(Value::as_object)
        .ok_or("it has no `services:` mapping")?;
    Ok(services
        .iter()
        .map(|(name, svc)| {
            let deploy = svc.get("deploy");
            let global =
                deploy.and_then(|d| d.get("mode")).and_then(Value::as_str) == Some("global");
            let replicas = deploy
                .and_then(|d| d.get("replicas"))
                .and_then(Value::as_u64)
                .map_or(1, |r| u32::try_from(r).unwrap_or(u32::MAX));
            ComposeService {
                name: name.clone(),
                replicas: (!global).then_some(replicas),
                image: svc.get("image").and_then(Value::as_str).map(str::to_string),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_services_and_replicas() {
        let s = services(
            "services:\n  gw:\n    image: g\n    deploy: {replicas: 2}\n  ne:\n    deploy: {mode: global}\n  db: {image: pg}\n",
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].replicas, Some(2));
        assert_eq!(s[1].replicas, None);
        assert_eq!(s[2].replicas, Some(1));
        assert!(services("version: '3'\n").is_err());
    }
}
