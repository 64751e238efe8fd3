/* A stand-in for Windows' bcryptprimitives.dll, for running our Windows test
 * programs under Wine 8.0 (Debian 12), which has no such DLL. Rust's standard
 * library (1.78 and later) takes its random numbers from ProcessPrng there, so
 * without it no Rust program loads. This one answers from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has. Built with mingw by
 * scripts/platforms.sh and put in the Wine prefix's system32; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
