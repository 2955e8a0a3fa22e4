//! `printlab testpage`: write the generated test document.

use anyhow::Context;
use printlab_graph::MediaSize;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TestpageArgs {
    /// Output PDF.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Number of pages.
    #[arg(long, default_value_t = 1)]
    pub pages: usize,
    /// Page size, by Graph or PWG name.
    #[arg(long, default_value = "A4")]
    pub media: String,
}

pub fn run(args: TestpageArgs) -> anyhow::Result<()> {
    let media = MediaSize::by_graph_name(&args.media)
        .or_else(|| MediaSize::by_pwg_name(&args.media))
        .with_context(|| format!("unknown media size `{}` (see `printlab media`)", args.media))?;
    anyhow::ensure!(
        (1..=10_000).contains(&args.pages),
        "--pages must be 1..=10000"
    );
    let pdf = printlab_render::testpage::generate(&vec![media.points(); args.pages])
        .context("building the test PDF")?;
    std::fs::write(&args.output, pdf)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(())
}
