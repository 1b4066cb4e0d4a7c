//! A sweep's early-termination policies, as Azure ML defines them: each judges a running
//! trial at an interval (one logged value of the primary metric) against the trials before it.

use aml_core::yaml::sweep::{EarlyTermination, Goal};

/// Whether `value` is better than `than` for the goal.
pub fn better(goal: Goal, value: f64, than: f64) -> bool {
    match goal {
        Goal::Minimize => value < than,
        Goal::Maximize => value > than,
    }
}

/// An early-termination policy judging one trial against the trials run before it.
pub struct PolicyWatch {
    pub policy: EarlyTermination,
    pub metric: String,
    pub goal: Goal,
    /// The primary metric's values, interval by interval, of each earlier trial.
    pub earlier: Vec<Vec<f64>>,
    pub trials_in_sweep: usize,
}

impl PolicyWatch {
    /// Some(reason) when the policy ends a trial whose metric reads `own` so far.
    pub fn judge(&self, own: &[f64]) -> Option<String> {
        let (interval, delay) = match &self.policy {
            EarlyTermination::Bandit { evaluation_interval, delay_evaluation, .. }
            | EarlyTermination::MedianStopping { evaluation_interval, delay_evaluation }
            | EarlyTermination::TruncationSelection { evaluation_interval, delay_evaluation, .. } => {
                (evaluation_interval.unwrap_or(1).max(1) as usize, delay_evaluation.unwrap_or(0) as usize)
            }
        };
        let at = own.len();
        if at == 0 || at <= delay || !at.is_multiple_of(interval) {
            return None;
        }
        let value = own[at - 1];
        // The earlier trials' values at the same interval.
        let peers: Vec<f64> = self.earlier.iter().filter_map(|h| h.get(at - 1)).copied().collect();
        if peers.is_empty() {
            return None;
        }
        let metric = &self.metric;
        match &self.policy {
            EarlyTermination::Bandit { slack_factor, slack_amount, .. } => {
                let best = peers.iter().copied().fold(value, |b, v| if better(self.goal, v, b) { v } else { b });
                let bound = match (self.goal, slack_factor, slack_amount) {
                    (Goal::Minimize, Some(f), _) => best * (1.0 + f),
                    (Goal::Maximize, Some(f), _) => best / (1.0 + f),
                    (Goal::Minimize, None, Some(a)) => best + a,
                    (Goal::Maximize, None, Some(a)) => best - a,
                    (_, None, None) => best,
                };
                better(self.goal, bound, value).then(|| {
                    format!("bandit: {metric} {value} at interval {at} is outside the slack of the best, {best} (bound {bound})")
                })
            }
            EarlyTermination::MedianStopping { .. } => {
                let mut averages: Vec<f64> = self
                    .earlier
                    .iter()
                    .filter(|h| h.len() >= at)
                    .map(|h| h[..at].iter().sum::<f64>() / at as f64)
                    .collect();
                averages.sort_by(f64::total_cmp);
                let median = match averages.len() {
                    0 => return None,
                    n if n % 2 == 1 => averages[n / 2],
                    n => (averages[n / 2 - 1] + averages[n / 2]) / 2.0,
                };
                let own_best = own.iter().copied().fold(value, |b, v| if better(self.goal, v, b) { v } else { b });
                better(self.goal, median, own_best).then(|| {
                    format!("median stopping: the best {metric} so far, {own_best}, is worse than the median of the running averages, {median}, at interval {at}")
                })
            }
            EarlyTermination::TruncationSelection { truncation_percentage, .. } => {
                let mut all = peers.clone();
                all.push(value);
                let cut = all.len() * (*truncation_percentage as usize).min(100) / 100;
                // Ranked worst first; the trial is cut if it is among the worst `cut`.
                let worse_than_own = all.iter().filter(|v| better(self.goal, value, **v)).count();
                (cut > 0 && worse_than_own < cut && self.trials_in_sweep > 1).then(|| {
                    format!("truncation selection: {metric} {value} at interval {at} is in the worst {truncation_percentage}% of the trials")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bandit(slack_factor: f64) -> PolicyWatch {
        PolicyWatch {
            policy: EarlyTermination::Bandit {
                slack_factor: Some(slack_factor),
                slack_amount: None,
                evaluation_interval: Some(1),
                delay_evaluation: Some(0),
            },
            metric: "rmse".into(),
            goal: Goal::Minimize,
            earlier: vec![vec![1.0, 0.5]],
            trials_in_sweep: 2,
        }
    }

    #[test]
    fn bandit_stops_a_trial_outside_the_slack_of_the_best_at_the_same_interval() {
        let watch = bandit(0.1);
        assert!(watch.judge(&[1.05]).is_none(), "within 10% of 1.0");
        assert!(watch.judge(&[1.2]).is_some(), "beyond 1.1");
        assert!(watch.judge(&[0.9, 0.56]).is_some(), "beyond 0.55 at interval 2");
        assert!(watch.judge(&[]).is_none(), "nothing logged yet");
        assert!(watch.judge(&[1.0, 0.5, 9.0]).is_none(), "no earlier trial reached interval 3");
    }

    #[test]
    fn median_stopping_and_truncation_judge_by_the_earlier_trials() {
        let median = PolicyWatch {
            policy: EarlyTermination::MedianStopping { evaluation_interval: None, delay_evaluation: None },
            metric: "acc".into(),
            goal: Goal::Maximize,
            earlier: vec![vec![0.8], vec![0.6], vec![0.7]],
            trials_in_sweep: 4,
        };
        assert!(median.judge(&[0.5]).is_some());
        assert!(median.judge(&[0.75]).is_none());
        let truncation = PolicyWatch {
            policy: EarlyTermination::TruncationSelection {
                truncation_percentage: 50,
                evaluation_interval: None,
                delay_evaluation: None,
            },
            ..median
        };
        assert!(truncation.judge(&[0.5]).is_some(), "the worst of 4");
        assert!(truncation.judge(&[0.9]).is_none(), "the best of 4");
    }
}
