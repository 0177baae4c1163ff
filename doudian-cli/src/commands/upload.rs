//! `doudian upload FILE [--sync]`: a local file through the binary material upload, its
//! store URI printed as JSON; with `--sync`, made an image material too.

use std::path::PathBuf;

use clap::Args;
use doudian_sdk::upload::{crc32_hex, UploadOptions, DEFAULT_MAX_UPLOAD_BYTES};
use doudian_sdk::CallOptions;
use serde_json::json;

use super::call::{connect, ConnectionArgs};
use super::{print_json, Failure};

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file; its extension names the type (.jpg, .png, .mp4, ...).
    file: PathBuf,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Then call material.uploadImageSync with the store URI and print its reply as well.
    #[arg(long)]
    sync: bool,
    /// The material-center folder for --sync (0 is the root).
    #[arg(long, default_value = "0", requires = "sync")]
    folder_id: String,
    /// The material name for --sync (default: the file name).
    #[arg(long, requires = "sync")]
    name: Option<String>,
    /// The largest file accepted, in bytes; larger ones are refused before any request.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    max_bytes: u64,
}

pub async fn run(args: UploadArgs) -> Result<(), Failure> {
    let (client, _gateway) = connect(&args.connection).await?;
    let options = UploadOptions::new().max_bytes(args.max_bytes);
    let uploaded = client.upload_file_with(&args.file, &options).await?;
    let mut out = json!({
        "store_uri": uploaded.store_uri,
        "size": uploaded.size,
        "crc32": crc32_hex(uploaded.crc32),
        "log_id": uploaded.log_id,
    });
    if args.sync {
        let name = match args.name {
            Some(name) => name,
            None => args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        let params = json!({
            "folder_id": args.folder_id,
            "material_name": name,
            "file_uri": uploaded.store_uri,
        });
        let reply = client.call_value("material.uploadImageSync", &params, &CallOptions::new()).await?;
        out["image_sync"] = json!({ "log_id": reply.log_id(), "data": reply.data() });
    }
    print_json(&out)
}
