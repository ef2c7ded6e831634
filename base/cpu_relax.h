// CpuRelax(): one step of a spin-wait loop.
//
// A thread that polls shared memory while waiting for another thread tells the
// CPU so between looks: on x86 the pause instruction, on ARM yield. It saves
// power, gives a sibling hyper-thread the core, and avoids the pipeline flush
// when the awaited store arrives. Not part of the API.

#ifndef PYCONC_BASE_CPU_RELAX_H_
#define PYCONC_BASE_CPU_RELAX_H_

namespace pyconc::internal {

// Tells the CPU that the calling thread spins; returns after a few dozen
// cycles (about 25 ns on an AMD EPYC, longer on recent Intel CPUs).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace pyconc::internal

#endif  // PYCONC_BASE_CPU_RELAX_H_
