//! Reading one part of a callgrind profile: its event totals and each function's self cost.
//!
//! Callgrind writes one file per dump (`<out>.1`, `<out>.2`, … for `callgrind_control
//! --dump`), each holding only the cost since the previous dump. The format (valgrind's
//! "Callgrind Format Specification") is line based:
//!
//! - `events: Ir sysCount …` names the cost columns; `positions: line` (the default) says how
//!   many position columns come first on a cost line;
//! - `summary: …` (and `totals: …`) hold the part's totals;
//! - `fn=(id) name` starts the costs of a function, and later refers to it as `fn=(id)` alone;
//!   `cfn=(id) name` names a called function and may define the id first;
//! - a cost line is the positions, then the events, trailing zeros left out;
//! - a `calls=` line says the next cost line is the inclusive cost of a call made from the
//!   current function, not cost of its own.
//!
//! So a function's self cost is the sum of its cost lines, leaving out those after `calls=`.
//! (`callgrind_annotate` reports the functions still on the stack at a mid-run dump, `main`
//! and its callers, with the whole part as their cost; reading the file directly avoids that.)

use std::collections::HashMap;

/// One part of a profile.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// The event names, in column order.
    pub events: Vec<String>,
    /// The part's totals, one per event (the `summary:` line, else `totals:`).
    pub totals: Vec<u64>,
    /// Each function's self cost, one per event, by name.
    pub self_cost: HashMap<String, Vec<u64>>,
}

impl Profile {
    /// Parses the text of one part. Lines it does not need (objects, files, jumps,
    /// descriptions) are skipped; a cost line or header it cannot read is an error that quotes
    /// it.
    pub fn parse(text: &str) -> Result<Profile, String> {
        let mut profile = Profile::default();
        let mut positions = 1;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut current: Option<String> = None;
        let mut after_calls = false;
        let mut totals: Option<Vec<u64>> = None;
        for line in text.lines() {
            let bad = || format!("unreadable callgrind line `{line}`");
            if let Some(rest) = line.strip_prefix("events:") {
                profile.events = rest.split_whitespace().map(str::to_string).collect();
            } else if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count().max(1);
            } else if let Some(rest) = line.strip_prefix("summary:") {
                totals = Some(numbers(rest).ok_or_else(bad)?);
            } else if let Some(rest) = line.strip_prefix("totals:") {
                if totals.is_none() {
                    totals = Some(numbers(rest).ok_or_else(bad)?);
                }
            } else if let Some(rest) = line.strip_prefix("fn=") {
                current = Some(name(rest, &mut names));
                after_calls = false;
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                name(rest, &mut names);
            } else if line.starts_with("calls=") {
                after_calls = true;
            } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
                if after_calls {
                    // The inclusive cost of the call just announced: the callee's, not ours.
                    after_calls = false;
                    continue;
                }
                let mut fields = line.split_whitespace().skip(positions);
                let costs = fields
                    .by_ref()
                    .map(|field| field.parse::<u64>())
                    .collect::<Result<Vec<u64>, _>>()
                    .map_err(|_| bad())?;
                let function = current.clone().ok_or_else(bad)?;
                let sum = profile.self_cost.entry(function).or_default();
                if sum.len() < costs.len() {
                    sum.resize(costs.len(), 0);
                }
                for (sum, cost) in sum.iter_mut().zip(costs) {
                    *sum += cost;
                }
            }
        }
        profile.totals = totals.ok_or("no `summary:` or `totals:` line")?;
        if profile.events.is_empty() {
            return Err("no `events:` line".to_string());
        }
        Ok(profile)
    }

    /// The column of event `name` (`Ir`, `sysCount`), if the profile recorded it.
    pub fn event(&self, name: &str) -> Option<usize> {
        self.events.iter().position(|event| event == name)
    }

    /// The part's total of event column `column` (0 if the column is absent: trailing zeros
    /// are left out).
    pub fn total(&self, column: usize) -> u64 {
        self.totals.get(column).copied().unwrap_or(0)
    }

    /// Function `name`'s self cost in column `column`, 0 if it did not run.
    pub fn self_of(&self, name: &str, column: usize) -> u64 {
        self.self_cost
            .get(name)
            .and_then(|costs| costs.get(column))
            .copied()
            .unwrap_or(0)
    }
}

/// Resolves a possibly compressed name, `(id) name` or `(id)` or a plain `name`, recording
/// the id's name the first time it is given.
fn name(text: &str, names: &mut HashMap<String, String>) -> String {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('(') else {
        return text.to_string();
    };
    let Some((id, given)) = rest.split_once(')') else {
        return text.to_string();
    };
    let given = given.trim();
    if given.is_empty() {
        names.get(id).cloned().unwrap_or_else(|| format!("({id})"))
    } else {
        names.insert(id.to_string(), given.to_string());
        given.to_string()
    }
}

/// Whitespace-separated numbers.
fn numbers(text: &str) -> Option<Vec<u64>> {
    text.split_whitespace()
        .map(|field| field.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Profile;

    /// The shape of a mid-run dump: `main` is on the stack, so its only cost is a call line
    /// carrying the whole part, which must not count as its own.
    const PART: &str = "\
# callgrind format
version: 1
positions: line
events: Ir sysCount
summary: 1000 7

ob=(1) /bin/server
fl=(1) ???
fn=(1) main
cfn=(2) run
calls=0 0
0 1000 7

fn=(2)
0 600
+3 100 2
cfn=(3) read
calls=5 0
0 300 5

fn=(3)
0 300 5
";

    #[test]
    fn self_cost_leaves_out_the_cost_of_calls() {
        let profile = Profile::parse(PART).expect("parses");
        let ir = profile.event("Ir").expect("Ir recorded");
        let sys = profile.event("sysCount").expect("sysCount recorded");
        assert_eq!(profile.total(ir), 1000);
        assert_eq!(profile.total(sys), 7);
        assert_eq!(profile.self_of("main", ir), 0);
        assert_eq!(profile.self_of("run", ir), 700);
        assert_eq!(profile.self_of("run", sys), 2);
        assert_eq!(profile.self_of("read", ir), 300);
        assert_eq!(profile.self_of("read", sys), 5);
        let self_sum: u64 = profile.self_cost.values().map(|costs| costs[ir]).sum();
        assert_eq!(self_sum, profile.total(ir));
    }

    #[test]
    fn a_part_without_totals_is_an_error() {
        assert!(Profile::parse("events: Ir\nfn=(1) main\n0 5\n").is_err());
        assert!(Profile::parse("events: Ir\n0 5\nsummary: 5\n").is_err());
    }
}
