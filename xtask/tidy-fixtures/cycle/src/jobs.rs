use crate::plan::Plan;

pub struct Job {
    pub plan: Plan,
}
