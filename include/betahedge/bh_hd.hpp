#pragma once
/// BH_HD marks a function that runs on both backends: `__host__ __device__` under nvcc,
/// nothing under a host-only compiler. Path dynamics, instruments and the margin rule use it.
#if defined(__CUDACC__)
#define BH_HD __host__ __device__ inline
#else
#define BH_HD inline
#endif

/// BH_LANES before a loop over lanes (assets, draws) asks the host compiler to run it as SIMD
/// lanes (OpenMP simd; the CPU backend builds with OpenMP); on the device a loop is one thread's.
#if defined(__CUDA_ARCH__) || !defined(_OPENMP)
#define BH_LANES
#else
#define BH_LANES _Pragma("omp simd")
#endif

/// BH_DEVICE_NO_UNROLL before a loop over riders' books (bands) keeps nvcc from unrolling it:
/// unrolled, each book's state competes for registers and the kernel spills. The host compiler
/// decides for itself.
#if defined(__CUDA_ARCH__)
#define BH_DEVICE_NO_UNROLL _Pragma("unroll 1")
#else
#define BH_DEVICE_NO_UNROLL
#endif
