//! Prints the Rhai program a flow compiles to:
//! `cargo run -p flows-runtime --example print_source -- flow.json`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: print_source FLOW.json")?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let steps: Vec<flows_runtime::model::Step> =
        serde_json::from_value(doc.get("steps").cloned().unwrap_or(doc))?;
    let rt = flows_runtime::Runtime::new(flows_runtime::Limits::default());
    let flow = rt.compile(&steps).map_err(|e| format!("{e:?}"))?;
    println!("{}", flow.source());
    Ok(())
}
