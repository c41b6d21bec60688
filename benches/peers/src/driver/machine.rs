//! A description of the machine a run happened on, for the report: figures mean little
//! without the CPU, the core count and the kernel they came from.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the report says about the machine.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The first `model name` of `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Logical CPUs listed in `/proc/cpuinfo`.
    pub cpus: usize,
    /// `uname -r`, from `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// The current UTC date and time, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
}

impl Machine {
    /// Reads the description; whatever cannot be read says `unknown`.
    pub fn describe() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown".to_string(),
                |(_, model)| model.trim().to_string(),
            );
        let cpus = cpuinfo
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count();
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
            |_| "unknown".to_string(),
            |release| release.trim().to_string(),
        );
        Machine {
            cpu_model,
            cpus,
            kernel,
            date: utc_now(),
        }
    }
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// The Gregorian date `days` days after 1970-01-01.
///
/// Counts in 400-year eras (146,097 days, the calendar's full cycle) of years that start on
/// 1 March, so that the leap day falls at the end of a year and month lengths follow a fixed
/// pattern; then shifts back to January-based years.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // 1970-01-01 is day 719,468 counted from 0000-03-01.
    let from_0000_march = days + 719_468;
    let era = from_0000_march / 146_097;
    let day_of_era = from_0000_march % 146_097;
    // Years of 365 days, less the leap days (every 4th year, not every 100th, every 400th).
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31 30 31 30 31 31 30 31 30 31 31 28/29, which (153 m + 2) / 5 gives.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_date_matches_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        assert_eq!(civil_date(20_454), (2026, 1, 1));
    }
}
