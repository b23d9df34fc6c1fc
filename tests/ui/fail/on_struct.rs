#[whisk::action]
struct Params {
    name: String,
}
