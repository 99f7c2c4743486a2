//! Reading the files the model and the console program take as input (world files, case files):
//! only regular files, and at most [`MAX_INPUT_FILE_BYTES`] of them, so that a device, a FIFO or
//! a huge file gives a clear error instead of a hang or unbounded memory.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// The largest input file accepted: 16 MiB.
pub const MAX_INPUT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why an input file was not read.
#[derive(Debug)]
pub enum InputFileError {
    /// The path names something other than a regular file (`what` says what: "a directory",
    /// "a character device", "a FIFO", …).
    NotRegular {
        /// What the path names.
        what: &'static str,
    },
    /// The file is larger than [`MAX_INPUT_FILE_BYTES`]; `bytes` is its size (at least).
    TooLarge {
        /// The file's size, or the number of bytes read before the limit was passed.
        bytes: u64,
    },
    /// Opening or reading failed (missing file, no permission, not UTF-8).
    Io(io::Error),
}

impl fmt::Display for InputFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRegular { what } => write!(
                f,
                "not a regular file but {what}: give the path of a regular file"
            ),
            Self::TooLarge { bytes } => write!(
                f,
                "the file has {bytes} bytes, more than the {} MiB ({MAX_INPUT_FILE_BYTES} bytes) \
                 an input file may have: give a smaller file",
                MAX_INPUT_FILE_BYTES / (1024 * 1024)
            ),
            Self::Io(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

impl std::error::Error for InputFileError {}

impl From<io::Error> for InputFileError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// What a non-regular file is, for messages.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

fn check_regular(meta: &Metadata) -> Result<(), InputFileError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(InputFileError::NotRegular {
            what: kind_of(meta),
        })
    }
}

fn check_size(meta: &Metadata) -> Result<(), InputFileError> {
    if meta.len() > MAX_INPUT_FILE_BYTES {
        return Err(InputFileError::TooLarge { bytes: meta.len() });
    }
    Ok(())
}

/// Opens an input file that is read as a stream (of any size), refusing anything but a regular
/// file: the type is checked before the file is opened (opening a FIFO would block until a
/// writer appears) and again on the open file.
///
/// # Errors
/// [`InputFileError::NotRegular`] or [`InputFileError::Io`].
pub fn open_input_file(path: &Path) -> Result<File, InputFileError> {
    check_regular(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

/// Reads a UTF-8 input file, refusing anything but a regular file of at most
/// [`MAX_INPUT_FILE_BYTES`] ([`open_input_file`] checks the type); the read itself stops after
/// the limit, so a file that grows while it is read cannot exhaust memory either.
///
/// # Errors
/// See [`InputFileError`].
pub fn read_input_file(path: &Path) -> Result<String, InputFileError> {
    let file = open_input_file(path)?;
    check_size(&file.metadata()?)?;
    let mut text = String::new();
    file.take(MAX_INPUT_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    let bytes = text.len() as u64;
    if bytes > MAX_INPUT_FILE_BYTES {
        return Err(InputFileError::TooLarge { bytes });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = std::env::temp_dir();
        let e = read_input_file(&dir).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a regular file but a directory: give the path of a regular file"
        );
        #[cfg(unix)]
        {
            let e = read_input_file(Path::new("/dev/zero")).unwrap_err();
            assert!(
                matches!(
                    e,
                    InputFileError::NotRegular {
                        what: "a character device"
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[test]
    fn refuses_a_file_over_the_limit_and_reads_one_at_it() {
        let dir = std::env::temp_dir().join(format!("hvmodel-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = dir.join("at-limit.toml");
        let over = dir.join("over-limit.toml");
        #[allow(clippy::cast_possible_truncation, reason = "16 MiB")]
        let limit = MAX_INPUT_FILE_BYTES as usize;
        std::fs::write(&at, vec![b'#'; limit]).unwrap();
        std::fs::write(&over, vec![b'#'; limit + 1]).unwrap();
        assert_eq!(read_input_file(&at).unwrap().len(), limit);
        let e = read_input_file(&over).unwrap_err();
        assert!(
            matches!(e, InputFileError::TooLarge { bytes: 16_777_217 }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the file has 16777217 bytes, more than the 16 MiB (16777216 bytes) an input file \
             may have: give a smaller file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
