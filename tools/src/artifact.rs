//! What a Lambda deployment package weighs and needs: a bootstrap's size, its size zipped as
//! `sam build` / `sam deploy` package it (DEFLATE), and the newest glibc it requires (the
//! `GLIBC_2.x` entries of its ELF version needs), which must not pass the runtime's:
//! Amazon Linux 2023's 2.34 for `provided.al2023`.

use std::io::Write;
use std::path::Path;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The newest glibc of the `provided.al2023` runtime (Amazon Linux 2023): 2.34.
pub const AL2023_GLIBC: (u32, u32) = (2, 34);

/// The glibc versions (`GLIBC_<major>.<minor>`) an ELF64 executable's version needs name, in
/// file order (empty for a static executable).
///
/// # Errors
/// When the file cannot be read or is not an ELF64 file with readable sections.
pub fn glibc_versions_needed(path: &Path) -> Result<Vec<(u32, u32)>, BoxError> {
    use object::read::elf::{ElfFile64, FileHeader};
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let elf = ElfFile64::<object::Endianness>::parse(&*data)?;
    let endian = elf.endian();
    let sections = elf.elf_header().sections(endian, &*data)?;
    let mut out = Vec::new();
    let Some((mut needs, link)) = sections.gnu_verneed(endian, &*data)? else {
        return Ok(out);
    };
    let strings = sections.strings(endian, &*data, link)?;
    while let Some((_, mut entries)) = needs.next()? {
        while let Some(entry) = entries.next()? {
            let name = String::from_utf8_lossy(entry.name(endian, strings)?).to_string();
            if let Some(version) = name.strip_prefix("GLIBC_") {
                let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                out.push((parts.next().unwrap_or(0), parts.next().unwrap_or(0)));
            }
        }
    }
    Ok(out)
}

/// A bootstrap's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Size of the file, bytes.
    pub bytes: u64,
    /// Size of the file DEFLATE-compressed (default level, as a zip entry of the deployment
    /// package holds it), bytes.
    pub zipped_bytes: u64,
    /// The newest glibc it requires, if it links glibc.
    pub newest_glibc: Option<(u32, u32)>,
}

/// Measures the bootstrap at `path`.
///
/// # Errors
/// As [`glibc_versions_needed`], or when the file cannot be read.
pub fn measure(path: &Path) -> Result<Artifact, BoxError> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(&data)?;
    Ok(Artifact {
        bytes: data.len() as u64,
        zipped_bytes: deflate.finish()?.len() as u64,
        newest_glibc: glibc_versions_needed(path)?.into_iter().max(),
    })
}
