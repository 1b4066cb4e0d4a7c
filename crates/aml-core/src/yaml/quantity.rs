//! Kubernetes quantities (`"0.5"`, `"500m"`, `"200Mi"`, `"1Gi"`) as numbers, and a
//! deployment's `resources:` read with them: both backends check the same way that every
//! figure is a quantity and that no request is above its limit.

use std::path::Path;

use super::endpoint::{ResourceRequirements, ResourceSettings};
use crate::error::{Error, Result};

/// A container resource, as `resources.requests` and `resources.limits` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
    Gpu,
}

impl Resource {
    pub const ALL: [Resource; 3] = [Resource::Cpu, Resource::Memory, Resource::Gpu];

    /// The field's name in the YAML file.
    pub fn key(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Gpu => "gpu",
        }
    }

    fn of(self, settings: &ResourceSettings) -> Option<&String> {
        match self {
            Resource::Cpu => settings.cpu.as_ref(),
            Resource::Memory => settings.memory.as_ref(),
            Resource::Gpu => settings.gpu.as_ref(),
        }
    }
}

/// A Kubernetes quantity as a number: cores for `cpu` and `gpu`, bytes for `memory`.
/// Binary (`Ki`…`Ei`) and decimal (`k`…`E`) suffixes, `m` (thousandths), exponents.
pub fn quantity(resource: Resource, text: &str) -> Option<f64> {
    let text = text.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    let (number, scale) = suffixes
        .iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|n| (n, *scale)))
        .unwrap_or((text, 1.0));
    let value: f64 = number.parse().ok()?;
    let value = value * scale;
    let whole_gpus = resource != Resource::Gpu || value.fract() == 0.0;
    (value.is_finite() && value >= 0.0 && whole_gpus).then_some(value)
}

/// One figure of `resources:`: as written, and as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub written: String,
    pub value: f64,
}

/// A deployment's requests and limits, read and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    requests: [Option<Amount>; 3],
    limits: [Option<Amount>; 3],
}

impl Resources {
    /// Every figure must be a quantity, and no request above its limit.
    pub fn read(file: &Path, written: Option<&ResourceRequirements>) -> Result<Resources> {
        let mut resources = Resources::default();
        let Some(written) = written else { return Ok(resources) };
        for (index, resource) in Resource::ALL.into_iter().enumerate() {
            let read = |kind: &str, settings: &Option<ResourceSettings>| -> Result<Option<Amount>> {
                let Some(text) = settings.as_ref().and_then(|s| resource.of(s)) else { return Ok(None) };
                let value = quantity(resource, text).ok_or_else(|| {
                    Error::in_file(
                        file,
                        Some(&format!("resources.{kind}.{}", resource.key())),
                        format!("`{text}` is not a Kubernetes quantity"),
                        match resource {
                            Resource::Memory => "write bytes with a unit, e.g. \"200Mi\" or \"1Gi\"",
                            Resource::Gpu => "write a whole number of GPUs, e.g. \"1\"",
                            Resource::Cpu => "write a number of cores, e.g. \"0.5\" or \"500m\"",
                        },
                    )
                })?;
                Ok(Some(Amount { written: text.clone(), value }))
            };
            let request = read("requests", &written.requests)?;
            let limit = read("limits", &written.limits)?;
            if let (Some(request), Some(limit)) = (&request, &limit)
                && request.value > limit.value
            {
                return Err(Error::in_file(
                    file,
                    Some(&format!("resources.requests.{}", resource.key())),
                    format!("requests `{}` but its limit is `{}`", request.written, limit.written),
                    "a container cannot be guaranteed more than it may use: lower the request or raise the limit",
                ));
            }
            resources.requests[index] = request;
            resources.limits[index] = limit;
        }
        Ok(resources)
    }

    pub fn request(&self, resource: Resource) -> Option<&Amount> {
        self.requests[resource as usize].as_ref()
    }

    pub fn limit(&self, resource: Resource) -> Option<&Amount> {
        self.limits[resource as usize].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubernetes_reads_them() {
        assert_eq!(quantity(Resource::Cpu, "100m"), Some(0.1));
        assert_eq!(quantity(Resource::Cpu, "0.5"), Some(0.5));
        assert_eq!(quantity(Resource::Cpu, "2"), Some(2.0));
        assert_eq!(quantity(Resource::Memory, "200Mi"), Some(200.0 * 1024.0 * 1024.0));
        assert_eq!(quantity(Resource::Memory, "0.1Gi"), Some(0.1 * 1024f64.powi(3)));
        assert_eq!(quantity(Resource::Memory, "1G"), Some(1e9));
        assert_eq!(quantity(Resource::Memory, "1e3"), Some(1000.0));
        assert_eq!(quantity(Resource::Gpu, "1"), Some(1.0));
        assert_eq!(quantity(Resource::Gpu, "0.5"), None);
        assert_eq!(quantity(Resource::Memory, "lots"), None);
        assert_eq!(quantity(Resource::Cpu, "-1"), None);
    }

    fn settings(cpu: &str, memory: &str) -> Option<ResourceSettings> {
        Some(ResourceSettings { cpu: Some(cpu.into()), memory: Some(memory.into()), gpu: None })
    }

    #[test]
    fn requests_above_limits_and_unreadable_figures_are_refused_by_field()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let file = Path::new("blue.yml");
        let fine = ResourceRequirements { requests: settings("0.1", "100Mi"), limits: settings("0.5", "1Gi") };
        let read = Resources::read(file, Some(&fine))?;
        assert_eq!(read.limit(Resource::Memory).map(|a| a.value), Some(1024f64.powi(3)));
        assert_eq!(read.request(Resource::Cpu).map(|a| a.written.as_str()), Some("0.1"));
        assert_eq!(read.limit(Resource::Gpu), None);

        let over = ResourceRequirements { requests: settings("1", "100Mi"), limits: settings("0.5", "1Gi") };
        let refused = Resources::read(file, Some(&over)).unwrap_err().to_string();
        assert!(refused.contains("resources.requests.cpu") && refused.contains("`0.5`"), "{refused}");

        let unreadable = ResourceRequirements { requests: None, limits: settings("0.5", "lots") };
        let refused = Resources::read(file, Some(&unreadable)).unwrap_err().to_string();
        assert!(refused.contains("resources.limits.memory") && refused.contains("`lots`"), "{refused}");
        assert_eq!(Resources::read(file, None)?, Resources::default());
        Ok(())
    }
}
