//! A summary of samples like the one pandas' `DataFrame.describe()` prints: count, mean,
//! standard deviation, minimum, quartiles and maximum.
//!
//! It follows pandas' definitions, so that figures can be compared with a notebook's: the
//! standard deviation is the sample one (divided by `n - 1`), and a quantile interpolates
//! linearly between the two samples around its position `q * (n - 1)` in sorted order.

/// The summary of one column of samples.
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    /// The sample standard deviation; `NaN` for fewer than two samples, as in pandas.
    pub std: f64,
    pub min: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub max: f64,
}

impl Summary {
    /// The rows of `describe()`, in its order, as `(label, value)`; the count as a float, as
    /// pandas prints it.
    pub fn rows(&self) -> [(&'static str, f64); 8] {
        [
            ("count", self.count as f64),
            ("mean", self.mean),
            ("std", self.std),
            ("min", self.min),
            ("25%", self.q25),
            ("50%", self.q50),
            ("75%", self.q75),
            ("max", self.max),
        ]
    }
}

/// Summarises `samples`; every figure but the count is `NaN` when there are none.
pub fn describe(samples: &[f64]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let std = if n < 2 {
        f64::NAN
    } else {
        let squares: f64 = sorted.iter().map(|x| (x - mean) * (x - mean)).sum();
        (squares / (n - 1) as f64).sqrt()
    };
    Summary {
        count: n,
        mean,
        std,
        min: quantile(&sorted, 0.0),
        q25: quantile(&sorted, 0.25),
        q50: quantile(&sorted, 0.5),
        q75: quantile(&sorted, 0.75),
        max: quantile(&sorted, 1.0),
    }
}

/// The `q` quantile of `sorted` (ascending), interpolated linearly; `NaN` if it is empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let position = q * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}
