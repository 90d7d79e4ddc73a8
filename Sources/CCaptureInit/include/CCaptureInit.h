// Early start-up of oopsd-capture, before the Swift runtime initialises.
#ifndef OOPSD_CCAPTUREINIT_H
#define OOPSD_CCAPTUREINIT_H

/// Whether the early constructor mounted /proc (1) or found it already there (0); -1 on failure.
/// Referencing it keeps the constructor's object file in the link.
int oops_capture_early_proc_status(void);

#endif
