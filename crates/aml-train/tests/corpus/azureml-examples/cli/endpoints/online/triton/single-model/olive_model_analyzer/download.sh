#!/bin/sh

wget https://olivewheels.blob.core.windows.net/repo/onnxruntime_olive-0.3.0-py3-none-any.whl 
wget https://olivewheels.blob.core.windows.net/repo/onnxruntime_gpu_tensorrt-1.9.0-cp38-cp38-linux_x86_64.whl
wget https://olivewheels.blob.core.windows.net/models/bert-base-cased-squad.pth