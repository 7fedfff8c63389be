"""sbsr_lab.models"""
