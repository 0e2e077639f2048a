#include <windows.h>
#include <ntsecapi.h>
/* A stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 lacks:
   Go's Windows runtime (1.22+) takes its random bytes from ProcessPrng. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
