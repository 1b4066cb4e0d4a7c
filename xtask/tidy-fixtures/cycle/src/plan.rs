use crate::jobs::{self, Job};

pub struct Plan;

pub fn first(jobs: &[Job]) -> Option<&Job> {
    let _ = jobs::Job { plan: Plan };
    jobs.first()
}
