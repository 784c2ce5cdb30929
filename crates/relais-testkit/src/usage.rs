//! What the threads of a process have used, processor time and switches,
//! from `/proc` (Linux; elsewhere nothing): what the benchmarks print.

use std::collections::HashMap;

/// Clock ticks a second of the CPU times in `/proc` (Linux's USER_HZ).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// What a thread used: processor time (user and system, in seconds) and
/// switches (the times it gave up the processor, waiting or preempted).
#[derive(Clone, Copy, Default)]
pub struct Use {
    /// Processor time, in seconds.
    pub cpu: f64,
    /// Thread switches.
    pub switches: f64,
}

/// What each thread of process `pid` has used, by thread id with its name
/// (`tokio-rt-worker`, `relais-writes`, `sqlx-sqlite-wor`…), from `/proc`
/// (empty where there is none). Switches count the hand-overs between
/// threads a request costs, whatever the machine's speed; processor time
/// swings with the machine.
pub fn cpu_by_thread(pid: &str) -> HashMap<String, (String, Use)> {
    let mut threads = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return threads;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `tid (name) state ppid …`: the name may hold spaces and brackets.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
            .sum();
        let switches: f64 = std::fs::read_to_string(task.path().join("status"))
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches:")
                    || l.starts_with("nonvoluntary_ctxt_switches:")
            })
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum();
        threads.insert(
            task.file_name().to_string_lossy().into_owned(),
            (
                stat[open + 1..close].to_owned(),
                Use {
                    cpu: ticks / TICKS_PER_SECOND,
                    switches,
                },
            ),
        );
    }
    threads
}

/// Adds to `sum`, by thread name, what each thread used between two
/// readings (a thread born in between, all it used). A thread that ended in
/// between is not in the second reading: what it used is not counted.
pub fn add_cpu(
    sum: &mut HashMap<String, Use>,
    before: &HashMap<String, (String, Use)>,
    after: &HashMap<String, (String, Use)>,
) {
    for (tid, (name, now)) in after {
        let was = before.get(tid).map_or(Use::default(), |(_, u)| *u);
        let total = sum.entry(name.clone()).or_default();
        total.cpu += now.cpu - was.cpu;
        total.switches += now.switches - was.switches;
    }
}
