struct Params;

struct Greeting;

#[derive(Debug)]
struct Failure;

#[whisk::action(concurrent)]
fn greet(_p: Params, _ctx: String) -> Result<Greeting, Failure> {
    Err(Failure)
}
