//! The Win32 transport: the hvsignal driver through its device interface, with `windows-sys`
//! only (no `std::os::windows`, so this module type-checks and lints on Linux under
//! `--cfg hvsignal_check_windows`; it is never run there).
//!
//! 1. `CM_Get_Device_Interface_List_SizeW` / `CM_Get_Device_Interface_ListW` list the present
//!    interfaces of `HVSIGNAL_INTERFACE_GUID` (a multi-sz of UTF-16 paths).
//! 2. `CreateFileW` opens the first with read and write access (the query needs read access,
//!    the signal request write access; the device's ACL admits SYSTEM and Administrators only).
//! 3. `DeviceIoControl` sends each METHOD_BUFFERED request synchronously.

use std::ptr;

use hvsignal_proto::HVSIGNAL_INTERFACE_GUID;
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CM_GET_DEVICE_INTERFACE_LIST_PRESENT, CM_Get_Device_Interface_List_SizeW,
    CM_Get_Device_Interface_ListW, CR_BUFFER_SMALL, CR_SUCCESS,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER,
    ERROR_PATH_NOT_FOUND, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::core::GUID;

use super::{OpenError, Transport, TransportError};

/// How often the interface list is re-read when it grew between the size query and the read.
const LIST_ATTEMPTS: usize = 3;

/// An open handle to the hvsignal device.
#[derive(Debug)]
pub struct Win32Transport {
    handle: HANDLE,
}

impl Win32Transport {
    /// Finds and opens the device.
    ///
    /// # Errors
    /// No present device interface (driver not installed or device not started), access
    /// denied (not elevated), or another open failure: all exit 3.
    pub fn open() -> Result<Self, OpenError> {
        let paths = interface_paths()?;
        let Some(path) = paths.into_iter().next() else {
            return Err(OpenError::NotFound);
        };
        // SAFETY: `path` is a NUL-terminated UTF-16 string that outlives the call; the security
        // attributes pointer may be null and the template handle may be null for OPEN_EXISTING.
        let handle = unsafe {
            CreateFileW(
                path.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                ptr::null(),
                OPEN_EXISTING,
                FILE_ATTRIBUTE_NORMAL,
                ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(open_error(last_error(), &path));
        }
        Ok(Self { handle })
    }
}

impl Drop for Win32Transport {
    fn drop(&mut self) {
        // SAFETY: `handle` came from a successful CreateFileW and is closed exactly once, here.
        // A failure to close cannot be acted on while dropping.
        let _ = unsafe { CloseHandle(self.handle) };
    }
}

impl Transport for Win32Transport {
    fn device_control(
        &mut self,
        ioctl_code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let in_len = u32::try_from(input.len())
            .map_err(|_| TransportError::Win32(ERROR_INVALID_PARAMETER))?;
        let out_len = u32::try_from(output_capacity)
            .map_err(|_| TransportError::Win32(ERROR_INVALID_PARAMETER))?;
        let mut output = vec![0u8; output_capacity];
        let in_ptr = if input.is_empty() {
            ptr::null()
        } else {
            input.as_ptr().cast()
        };
        let out_ptr = if output.is_empty() {
            ptr::null_mut()
        } else {
            output.as_mut_ptr().cast()
        };
        let mut returned: u32 = 0;
        // SAFETY: `handle` is open; `in_ptr` is null or points to `in_len` readable bytes and
        // `out_ptr` is null or points to `out_len` writable bytes, both alive for the whole
        // (synchronous, non-overlapped) call; `returned` is a valid u32 to write.
        let ok = unsafe {
            DeviceIoControl(
                self.handle,
                ioctl_code,
                in_ptr,
                in_len,
                out_ptr,
                out_len,
                &raw mut returned,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(TransportError::Win32(last_error()));
        }
        output.truncate(
            usize::try_from(returned)
                .unwrap_or(output_capacity)
                .min(output_capacity),
        );
        Ok(output)
    }
}

/// `GetLastError`.
fn last_error() -> u32 {
    // SAFETY: GetLastError only reads the calling thread's last-error value.
    unsafe { GetLastError() }
}

/// The interface GUID in the `windows-sys` layout.
fn interface_guid() -> GUID {
    let g = HVSIGNAL_INTERFACE_GUID;
    GUID {
        data1: g.data1,
        data2: g.data2,
        data3: g.data3,
        data4: g.data4,
    }
}

/// The present interfaces of the hvsignal device class, each a NUL-terminated UTF-16 path.
fn interface_paths() -> Result<Vec<Vec<u16>>, OpenError> {
    let guid = interface_guid();
    for _ in 0..LIST_ATTEMPTS {
        let mut len: u32 = 0;
        // SAFETY: `len` and `guid` are valid for the call; a null device id asks for every
        // device's interfaces of this class.
        let cr = unsafe {
            CM_Get_Device_Interface_List_SizeW(
                &raw mut len,
                &raw const guid,
                ptr::null(),
                CM_GET_DEVICE_INTERFACE_LIST_PRESENT,
            )
        };
        if cr != CR_SUCCESS {
            return Err(OpenError::ListFailed {
                function: "CM_Get_Device_Interface_List_SizeW",
                configret: cr,
            });
        }
        if len <= 1 {
            return Ok(Vec::new());
        }
        let capacity = usize::try_from(len).unwrap_or(0);
        let mut buffer = vec![0u16; capacity];
        // SAFETY: `buffer` holds `len` UTF-16 units and outlives the call; `guid` is valid.
        let cr = unsafe {
            CM_Get_Device_Interface_ListW(
                &raw const guid,
                ptr::null(),
                buffer.as_mut_ptr(),
                len,
                CM_GET_DEVICE_INTERFACE_LIST_PRESENT,
            )
        };
        if cr == CR_BUFFER_SMALL {
            continue;
        }
        if cr != CR_SUCCESS {
            return Err(OpenError::ListFailed {
                function: "CM_Get_Device_Interface_ListW",
                configret: cr,
            });
        }
        return Ok(split_multi_sz(&buffer));
    }
    Err(OpenError::ListKeptChanging)
}

/// Splits a multi-sz (strings each ending in NUL, the list ending in an empty string) into
/// NUL-terminated strings.
fn split_multi_sz(buffer: &[u16]) -> Vec<Vec<u16>> {
    buffer
        .split(|&unit| unit == 0)
        .take_while(|s| !s.is_empty())
        .map(|s| {
            let mut path = s.to_vec();
            path.push(0);
            path
        })
        .collect()
}

/// A NUL-terminated UTF-16 string for display.
fn utf16_to_string(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(units.get(..end).unwrap_or(units))
}

fn open_error(error: u32, path: &[u16]) -> OpenError {
    let path = utf16_to_string(path);
    match error {
        ERROR_ACCESS_DENIED => OpenError::AccessDenied { path },
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => OpenError::NotFound,
        error => OpenError::CreateFile { path, error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_sz_is_split_into_terminated_paths() {
        let a: Vec<u16> = "\\\\?\\A".encode_utf16().collect();
        let b: Vec<u16> = "B".encode_utf16().collect();
        let mut buffer = a.clone();
        buffer.push(0);
        buffer.extend(&b);
        buffer.extend([0, 0]);
        let paths = split_multi_sz(&buffer);
        assert_eq!(paths.len(), 2);
        assert_eq!(utf16_to_string(&paths[0]), "\\\\?\\A");
        assert_eq!(paths[1], [u16::from(b'B'), 0]);
        assert!(split_multi_sz(&[0]).is_empty());
    }

    #[test]
    fn guid_fields_are_copied() {
        let g = interface_guid();
        assert_eq!((g.data1, g.data2, g.data3), (0x7705_f10c, 0x2086, 0x488b));
        assert_eq!(g.data4, [0xb8, 0x36, 0x3c, 0x5b, 0xb2, 0xb5, 0x5a, 0x15]);
    }

    #[test]
    fn open_errors_say_what_is_wrong() {
        let path: Vec<u16> = "p\0".encode_utf16().collect();
        let denied = open_error(ERROR_ACCESS_DENIED, &path);
        assert!(matches!(&denied, OpenError::AccessDenied { path } if path == "p"));
        assert!(denied.to_string().contains("elevated"), "{denied}");
        let missing = open_error(ERROR_FILE_NOT_FOUND, &path);
        assert!(matches!(missing, OpenError::NotFound));
        assert!(missing.to_string().contains("not installed"), "{missing}");
    }
}
