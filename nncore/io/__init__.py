"""Files: checkpoints (safetensors with a JSON header) and exports (ONNX, a runnable PyTorch script)."""
