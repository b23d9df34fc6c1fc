//! An array as the input: `P = Vec<i32>`.
//!
//! trybuild runs every pass case, on the input `{}`, which is not an array:
//! so this action lives in a module (its generated `main` is then an
//! ordinary function of that module) and the crate has its own `main`. The
//! whole expansion is compiled all the same.

mod action {
    use serde::Serialize;

    #[derive(Serialize)]
    pub struct Sum {
        pub sum: i64,
    }

    #[whisk::action]
    pub fn sum(numbers: Vec<i32>) -> Result<Sum, String> {
        Ok(Sum {
            sum: numbers.iter().map(|&n| i64::from(n)).sum(),
        })
    }
}

fn main() {
    let sum = action::sum(vec![1, 2, 3]).unwrap();
    assert_eq!(sum.sum, 6);
}
