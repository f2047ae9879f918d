#pragma once
/// BH_HD marks a function that runs on both backends: `__host__ __device__` under nvcc,
/// nothing under a host-only compiler. Path dynamics, instruments and the margin rule use it.
#if defined(__CUDACC__)
#define BH_HD __host__ __device__ inline
#else
#define BH_HD inline
#endif
