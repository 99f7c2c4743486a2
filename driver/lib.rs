//! hvsignal KMDF driver (being written). Empty off Windows.
