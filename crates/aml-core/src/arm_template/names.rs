//! Azure's naming rules for the resource types of the workspace templates (Azure's
//! "Naming rules and restrictions for Azure resources"), held to a name before any request:
//! a name that breaks one fails late otherwise, after the resources before it were made.

use super::expr::UNIQUE;

/// A rule on the whole name: (is it broken by this name?, how the rule says it).
type WholeNameRule = (fn(&str) -> bool, &'static str);

pub struct NameRule {
    pub resource_type: &'static str,
    pub what: &'static str,
    pub min: usize,
    pub max: usize,
    /// The characters allowed, and how the rule says them.
    allowed: fn(char) -> bool,
    pub alphabet: &'static str,
    /// Extra rules on the whole name: (broken?, how the rule says it).
    extra: &'static [WholeNameRule],
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}
fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn alnum_hyphen(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}
fn alnum_hyphen_underscore(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}
fn insights(c: char) -> bool {
    !"%&\\?/".contains(c) && !c.is_control()
}
fn starts_with_letter(name: &str) -> bool {
    !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == UNIQUE)
}
fn starts_with_alnum(name: &str) -> bool {
    !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == UNIQUE)
}
fn ends_with_alnum(name: &str) -> bool {
    !name.ends_with(|c: char| c.is_ascii_alphanumeric() || c == UNIQUE)
}
fn double_hyphen(name: &str) -> bool {
    name.contains("--")
}
fn ends_with_dot_or_space(name: &str) -> bool {
    name.ends_with('.') || name.ends_with(' ')
}

pub const RULES: &[NameRule] = &[
    NameRule {
        resource_type: "Microsoft.Storage/storageAccounts",
        what: "a storage account name",
        min: 3,
        max: 24,
        allowed: lower_alnum,
        alphabet: "lowercase letters and digits",
        extra: &[],
    },
    NameRule {
        resource_type: "Microsoft.KeyVault/vaults",
        what: "a key vault name",
        min: 3,
        max: 24,
        allowed: alnum_hyphen,
        alphabet: "letters, digits and hyphens",
        extra: &[
            (starts_with_letter, "it starts with a letter"),
            (ends_with_alnum, "it ends with a letter or digit"),
            (double_hyphen, "it has no two hyphens in a row"),
        ],
    },
    NameRule {
        resource_type: "Microsoft.ContainerRegistry/registries",
        what: "a container registry name",
        min: 5,
        max: 50,
        allowed: alnum,
        alphabet: "letters and digits",
        extra: &[],
    },
    NameRule {
        resource_type: "Microsoft.OperationalInsights/workspaces",
        what: "a Log Analytics workspace name",
        min: 4,
        max: 63,
        allowed: alnum_hyphen,
        alphabet: "letters, digits and hyphens",
        extra: &[
            (starts_with_alnum, "it starts with a letter or digit"),
            (ends_with_alnum, "it ends with a letter or digit"),
        ],
    },
    NameRule {
        resource_type: "Microsoft.Insights/components",
        what: "an Application Insights name",
        min: 1,
        max: 260,
        allowed: insights,
        alphabet: "any characters but % & \\ ? /",
        extra: &[(ends_with_dot_or_space, "it does not end with a period or a space")],
    },
    NameRule {
        resource_type: "Microsoft.MachineLearningServices/workspaces",
        what: "an Azure ML workspace name",
        min: 3,
        max: 33,
        allowed: alnum_hyphen_underscore,
        alphabet: "letters, digits, hyphens and underscores",
        extra: &[(starts_with_alnum, "it starts with a letter or digit")],
    },
    NameRule {
        resource_type: "Microsoft.MachineLearningServices/workspaces/computes",
        what: "an Azure ML compute name",
        min: 2,
        max: 16,
        allowed: alnum_hyphen,
        alphabet: "letters, digits and hyphens",
        extra: &[(starts_with_letter, "it starts with a letter")],
    },
    NameRule {
        resource_type: "Microsoft.ContainerService/managedClusters",
        what: "an AKS cluster name",
        min: 1,
        max: 63,
        allowed: alnum_hyphen_underscore,
        alphabet: "letters, digits, hyphens and underscores",
        extra: &[
            (starts_with_alnum, "it starts with a letter or digit"),
            (ends_with_alnum, "it ends with a letter or digit"),
        ],
    },
];

fn group_character(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')')
}

fn ends_with_dot(name: &str) -> bool {
    name.ends_with('.')
}

/// Names that are not a template's resources but a deployment's own: where it goes and
/// what it is called.
pub const RESOURCE_GROUP: NameRule = NameRule {
    resource_type: "Microsoft.Resources/resourceGroups",
    what: "a resource group name",
    min: 1,
    max: 90,
    allowed: group_character,
    alphabet: "letters, digits, hyphens, underscores, periods and parentheses",
    extra: &[(ends_with_dot, "it does not end with a period")],
};

pub const DEPLOYMENT: NameRule = NameRule {
    resource_type: "Microsoft.Resources/deployments",
    what: "a deployment name",
    min: 1,
    max: 64,
    allowed: group_character,
    alphabet: "letters, digits, hyphens, underscores, periods and parentheses",
    extra: &[],
};

/// An Azure region's programmatic name: `westeurope`, `eastus2`.
pub const LOCATION: NameRule = NameRule {
    resource_type: "location",
    what: "a region name",
    min: 3,
    max: 40,
    allowed: lower_alnum,
    alphabet: "lowercase letters and digits (`westeurope`, as `az account list-locations` names them)",
    extra: &[],
};

pub fn rule_for(resource_type: &str) -> Option<&'static NameRule> {
    RULES.iter().find(|r| r.resource_type.eq_ignore_ascii_case(resource_type))
}

impl NameRule {
    /// What is wrong with `name` (its `uniqueString()` characters count as lowercase letters
    /// and digits), if anything.
    pub fn problem(&self, name: &str) -> Option<String> {
        let length = name.chars().count();
        if length < self.min || length > self.max {
            return Some(format!("is {length} characters; {} is {}–{} characters", self.what, self.min, self.max));
        }
        if let Some(bad) = name.chars().find(|c| *c != UNIQUE && !(self.allowed)(*c)) {
            return Some(format!("has `{}`; {} has only {}", bad.escape_debug(), self.what, self.alphabet));
        }
        self.extra
            .iter()
            .find(|(broken, _)| broken(name))
            .map(|(_, rule)| format!("breaks a rule of {}: {rule}", self.what))
    }

    pub fn describe(&self) -> String {
        format!("{} is {}–{} {}", self.what, self.min, self.max, self.alphabet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_takes_a_good_name_and_refuses_a_bad_one() {
        let cases = [
            ("Microsoft.Storage/storageAccounts", "mlopsdevst12345", "mlops-dev-st"),
            ("Microsoft.KeyVault/vaults", "mlops-dev-kv-1a2b3", "mlops--kv"),
            ("Microsoft.ContainerRegistry/registries", "mlopsdevcr1", "ml-cr"),
            ("Microsoft.OperationalInsights/workspaces", "mlops-dev-log", "-log"),
            ("Microsoft.Insights/components", "mlops-dev-appi", "appi."),
            ("Microsoft.MachineLearningServices/workspaces", "mlops-dev-mlw", "_mlw"),
            ("Microsoft.MachineLearningServices/workspaces/computes", "cpu-cluster", "a-very-long-cluster-name"),
            ("Microsoft.ContainerService/managedClusters", "mlops-prod-aks", "aks-"),
        ];
        for (kind, good, bad) in cases {
            let rule = rule_for(kind).map(|r| (r.problem(good), r.problem(bad)));
            assert!(matches!(rule, Some((None, Some(_)))), "{kind}: {good} / {bad}: {rule:?}");
        }
        let storage = rule_for("microsoft.storage/storageaccounts")
            .map(|r| r.problem(&format!("{}abc", UNIQUE.to_string().repeat(13))));
        assert_eq!(storage, Some(None), "uniqueString's characters are lowercase letters and digits");
    }

    fn verdict(kind: &str, name: &str) -> Option<bool> {
        rule_for(kind).map(|rule| rule.problem(name).is_none())
    }

    #[test]
    fn lengths_are_inclusive_at_both_ends() {
        let storage = "Microsoft.Storage/storageAccounts";
        for (length, fits) in [(2, false), (3, true), (24, true), (25, false)] {
            assert_eq!(verdict(storage, &"a".repeat(length)), Some(fits), "{length} characters");
        }
    }

    #[test]
    fn each_alphabet_refuses_what_it_does_not_list() {
        let cases = [
            ("Microsoft.KeyVault/vaults", "mlops_kv", false),
            ("Microsoft.KeyVault/vaults", "mlops-kv", true),
            ("Microsoft.MachineLearningServices/workspaces", "mlops.ws", false),
            ("Microsoft.MachineLearningServices/workspaces", "mlops_ws", true),
            ("Microsoft.MachineLearningServices/workspaces", "mlops-ws", true),
            ("Microsoft.Insights/components", "a%b", false),
            ("Microsoft.Insights/components", "a\u{7}b", false),
            ("Microsoft.Insights/components", "a b(c)", true),
            ("Microsoft.MachineLearningServices/workspaces/computes", "1cluster", false),
            ("Microsoft.MachineLearningServices/workspaces/computes", "cluster1", true),
        ];
        for (kind, name, fits) in cases {
            assert_eq!(verdict(kind, name), Some(fits), "{kind}: {name:?}");
        }
        // uniqueString() may start a name that must start with a letter: it is taken to.
        let vault = format!("{}kv", UNIQUE.to_string().repeat(13));
        assert_eq!(verdict("Microsoft.KeyVault/vaults", &vault), Some(true));
    }

    #[test]
    fn a_deployment_s_own_names_follow_resource_manager_s_rules() {
        assert_eq!(RESOURCE_GROUP.problem("rg-mlops_dev.(eu)1"), None);
        assert_eq!(RESOURCE_GROUP.problem("résumé"), None, "Unicode letters are allowed in a group name");
        for bad in ["rg/../x", "rg mlops", "rg-mlops.", "", &"g".repeat(91)] {
            assert!(RESOURCE_GROUP.problem(bad).is_some(), "{bad:?}");
        }
        assert!(RESOURCE_GROUP.problem("rg.").is_some_and(|p| p.contains("period")));
        assert_eq!(DEPLOYMENT.problem("aml-infra.v2(1)"), None);
        assert_eq!(DEPLOYMENT.problem("ends.with."), None, "a deployment name may end with a period");
        for bad in ["a b", "a/b", &"d".repeat(65)] {
            assert!(DEPLOYMENT.problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(LOCATION.problem("westeurope"), None);
        assert!(LOCATION.problem("West Europe").is_some());
    }

    #[test]
    fn a_rule_says_itself() {
        let said = rule_for("Microsoft.Storage/storageAccounts").map(NameRule::describe);
        assert_eq!(said.as_deref(), Some("a storage account name is 3–24 lowercase letters and digits"));
    }
}
