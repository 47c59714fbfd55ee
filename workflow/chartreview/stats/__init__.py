"""Statistical kernels checked against R: arrays in, small typed records out, no file I/O."""
