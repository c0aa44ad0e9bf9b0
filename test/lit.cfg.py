# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "MATQUANT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.matquant_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", config.shlib_ext))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%matquant_bin", config.matquant_tools_dir))
config.substitutions.append(("%matquant_src", config.matquant_src_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "ASAN_OPTIONS", "UBSAN_OPTIONS"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.matquant_tools_dir, append_path=True)

config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"

tool_dirs = [config.matquant_tools_dir, config.llvm_tools_dir, config.mlir_tools_dir]

# MATQUANT_VERIFY_ROUNDTRIP=1 runs every matquant-opt invocation with
# --verify-roundtrip, so each test also checks printer/parser symmetry.
opt = "matquant-opt"
if os.environ.get("MATQUANT_VERIFY_ROUNDTRIP") == "1":
    opt_cmd = os.path.join(config.matquant_tools_dir, "matquant-opt") + " --verify-roundtrip"
    tools = [ToolSubst("matquant-opt", command=opt_cmd, unresolved="fatal")]
else:
    tools = [ToolSubst("matquant-opt", unresolved="fatal")]
tools += [
    ToolSubst("mlir-opt", command=os.path.join(config.mlir_tools_dir, "mlir-opt"), unresolved="ignore"),
    ToolSubst("mlir-runner", command=os.path.join(config.mlir_tools_dir, "mlir-runner"), unresolved="ignore"),
    ToolSubst("mq-testgen", unresolved="fatal"),
    ToolSubst("mq-calib-check", unresolved="fatal"),
    ToolSubst("matquant-import", unresolved="fatal"),
    ToolSubst("matquant-aot", unresolved="fatal"),
    ToolSubst("matquant-run", unresolved="fatal"),
    ToolSubst("matquant-bench", unresolved="fatal"),
    ToolSubst("llama-ref", unresolved="fatal"),
    ToolSubst("matquant-gpu-compile", unresolved="fatal"),
    ToolSubst("matquant-gpu-test", unresolved="fatal"),
    ToolSubst("matquant-gpu-bench", unresolved="fatal"),
    ToolSubst("MatquantNumericsTests", command=os.path.join(config.matquant_obj_root, "unittests", "Numerics", "MatquantNumericsTests"), unresolved="ignore"),
    ToolSubst("MatquantGpuRuntimeTests", command=os.path.join(config.matquant_obj_root, "unittests", "GPURuntime", "MatquantGpuRuntimeTests"), unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

if config.enable_execution_engine:
    config.available_features.add("mlir-runner")
if config.matquant_sanitize:
    config.available_features.add("sanitizers")
# A host C++ compiler, for drivers linked against matquant-aot objects.
if lit.util.which("g++", config.environment["PATH"]):
    config.available_features.add("cxx")

# The real stories260K checkpoint, when the shared model directory is there.
stories260k = os.path.join(config.matquant_src_root, "..", "shared", "models", "stories260K.bin")
if os.path.exists(stories260k):
    config.available_features.add("stories260k")
config.substitutions.append(("%stories260k", stories260k))

# The runner's support libraries.
config.substitutions.append(("%runner_libs",
    "-shared-libs=%s/libmlir_c_runner_utils%s -shared-libs=%s/libmlir_runner_utils%s"
    % (config.mlir_lib_dir, config.shlib_ext, config.mlir_lib_dir, config.shlib_ext)))

# The mlir-opt plugin (not built in the sanitizer build).
plugin = os.path.join(config.matquant_obj_root, "lib", "libMatquantPlugin" + config.shlib_ext)
if not config.matquant_sanitize and os.path.exists(plugin):
    config.available_features.add("plugins")
config.substitutions.append(("%matquant_plugin", plugin))

# The OpenMP runtime for code compiled with matquant-cpu-to-llvm{threads=N}.
config.substitutions.append(("%omp_lib", "-shared-libs=%s/libomp%s" % (config.mlir_lib_dir, config.shlib_ext)))

# AVX-512 VNNI on this machine, for the W{r}A8 kernels; GFNI with
# AVX512-VBMI, for vgf2p8affineqb in the bit-plane kernels.
try:
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    if " avx512_vnni" in flags:
        config.available_features.add("avx512vnni")
    if " gfni" in flags and " avx512vbmi" in flags:
        config.available_features.add("gfni")
except OSError:
    pass

# LeakSanitizer cannot stop the world while libomp's worker threads spin, so
# commands that run OpenMP-parallel JIT code go without leak checking.
config.substitutions.append(("%omp_env", "env ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=0"))

# GPU: ptxas (CUDA toolkit) assembles generated PTX without a GPU; execution
# tests need a CUDA device (the driver's libcuda and nvidia-smi seeing one).
ptxas = shutil.which("ptxas", path="/usr/local/cuda/bin:" + os.environ.get("PATH", ""))
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
def _has_cuda_device():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and "GPU" in out.stdout
    except Exception:
        return False
if _has_cuda_device():
    config.available_features.add("cuda-device")
